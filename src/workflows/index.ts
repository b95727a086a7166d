export { backup } from './backup';
export { restore } from './restore';
export { dispatch } from './dispatch';
export { push } from './push';
export { etl } from './etl';
export { etlTransform } from './etl-transform';
export { etlLoad } from './etl-load';
export { etlCleanup } from './etl-cleanup';
