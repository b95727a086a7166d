/** A producer's message for the archive format (seed 003), naming the files to pack. */
export function archiveDispatch(name: string, files: string[]) {
  return { kind: 'dispatch', name, version: '2.1', buildType: null, format: 'archive', project: 'ccap', origin: 'test-suite', payload: { files } };
}
