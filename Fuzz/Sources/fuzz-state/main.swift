import SurgeonFuzzEntries

@_cdecl("LLVMFuzzerTestOneInput")
public func test(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzEntries.fuzzRunState(Array(UnsafeRawBufferPointer(start: start, count: count)))
    return 0
}
