import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

// libFuzzer runs ``fuzzJSON(_:_:)`` (Harness.swift) on every input.
exit(Fuzz.main(fuzzJSON))
