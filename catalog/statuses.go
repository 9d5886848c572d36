package catalog

// ObjectStatus is what became of a source object in a load: objects.status
// holds the first four; the others are outcomes a load reports but never
// stores.
type ObjectStatus string

const (
	ObjectCommitted   ObjectStatus = "committed"
	ObjectQuarantined ObjectStatus = "quarantined"
	ObjectDuplicate   ObjectStatus = "duplicate"
	ObjectFailed      ObjectStatus = "failed"

	ObjectVanished ObjectStatus = "vanished" // gone between listing and reading
	ObjectMissing  ObjectStatus = "missing"  // a named key that does not exist
	ObjectKnown    ObjectStatus = "known"    // already in the catalog: nothing to do
	ObjectDeferred ObjectStatus = "deferred" // still being written (modified within the settle time): a later run loads it
	ObjectWaiting  ObjectStatus = "waiting"  // failed before; its retry time has not come
	ObjectGrown    ObjectStatus = "grown"    // on_change skip: grew after it was loaded (the lake may hold a partial version)
)

// LoadStatus is the state of a load (loads.status).
type LoadStatus string

const (
	LoadRunning   LoadStatus = "running"   // recorded before it writes
	LoadCommitted LoadStatus = "committed" // its transaction committed; files not all published yet
	LoadPublished LoadStatus = "published" // its files are visible
	LoadFailed    LoadStatus = "failed"    // ended before its commit; nothing of it is visible
	LoadAborted   LoadStatus = "aborted"   // interrupted, discarded by recovery
)
