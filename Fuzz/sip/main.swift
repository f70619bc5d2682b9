import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

// libFuzzer runs ``fuzzSIP(_:_:)`` (Harness.swift) on every input.
exit(Fuzz.main(fuzzSIP))
