import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

// libFuzzer runs ``fuzzConfig(_:_:)`` (Harness.swift) on every input.
exit(Fuzz.main(fuzzConfig))
