export { backup } from './backup';
export { restore } from './restore';
export { dispatch } from './dispatch';
export { push } from './push';
