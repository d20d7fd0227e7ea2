export { StorageFullError, StorageUnavailableError } from './errors.js'
export { AtomicNodeFSStorageAdapter, TEMP_DIR } from './atomic-nodefs-storage.js'
export type { FaultReportingInit, StorageHealthEvent } from './fault-reporting-storage.js'
export { FaultReportingStorage, storageFault } from './fault-reporting-storage.js'
