import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

// libFuzzer runs ``fuzzTNAuthList(_:_:)`` (Harness.swift) on every input.
exit(Fuzz.main(fuzzTNAuthList))
