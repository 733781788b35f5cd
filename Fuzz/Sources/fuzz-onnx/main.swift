import SurgeonFuzzEntries

@_cdecl("LLVMFuzzerTestOneInput")
public func test(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzEntries.fuzzONNX(Array(UnsafeRawBufferPointer(start: start, count: count)))
    return 0
}
