export { backup } from '../kinds/backup/workflow';
export { restore } from '../kinds/restore/workflow';
export { dispatch } from '../kinds/dispatch/workflow';
export { push } from '../kinds/push/workflow';
export { etl } from '../kinds/etl/workflow';
export { etlTransform } from '../kinds/etl/transform-workflow';
export { etlLoad } from '../kinds/etl/load-workflow';
export { etlCleanup } from '../kinds/etl/cleanup-workflow';
