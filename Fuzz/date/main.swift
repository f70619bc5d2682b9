import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

// libFuzzer runs ``fuzzDate(_:_:)`` (Harness.swift) on every input.
exit(Fuzz.main(fuzzDate))
