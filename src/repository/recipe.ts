import { Chunker, gearTable, type ChunkerParams } from './chunker';
import { Sealer, type Compression, type SealKeys } from './seal';

/** What a thread needs to cut and seal like the repository it works for: plain data, so it crosses to a worker thread. */
export interface RepositoryRecipe {
  /** Tells one repository's recipe from another's, so a thread builds each once. */
  id: string;
  chunker: ChunkerParams;
  gearSeed?: Buffer;
  keys?: SealKeys;
  compression: Compression;
}

export interface RepositoryTools {
  chunker: Chunker;
  sealer: Sealer;
}

export function toolsFrom(recipe: RepositoryRecipe): RepositoryTools {
  return { chunker: new Chunker(recipe.chunker, gearTable(recipe.gearSeed)), sealer: new Sealer(recipe.keys, recipe.compression) };
}
