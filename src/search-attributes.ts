import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** courier's custom search attributes; the dev-server bootstrap registers them, a cluster needs them created once. */
export const CourierKind = defineSearchAttributeKey('CourierKind', SearchAttributeType.KEYWORD);
export const CourierStatus = defineSearchAttributeKey('CourierStatus', SearchAttributeType.KEYWORD);
export const CourierProject = defineSearchAttributeKey('CourierProject', SearchAttributeType.KEYWORD);

/** The host a job's file steps run on, once it is pinned. */
export const CourierHost = defineSearchAttributeKey('CourierHost', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [CourierKind, CourierStatus, CourierProject, CourierHost];
