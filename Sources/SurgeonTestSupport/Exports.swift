// The helpers that need only the core (tolerance asserts, the gradient checker, the pruning
// equivalence checks) live in `SurgeonCoreTestSupport`, so that `SurgeonCoreTests` can use them
// without `Layers`. Re-exported here: `import SurgeonTestSupport` still offers all of them.
@_exported import SurgeonCoreTestSupport
