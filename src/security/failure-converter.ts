/**
 * Failures with their message and stack moved into an encoded payload, so the
 * payload codec encrypts them too. Loaded by path (workflow bundles and
 * workers) only when the codec is on.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
