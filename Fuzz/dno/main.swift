import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

// libFuzzer runs ``fuzzDNO(_:_:)`` (Harness.swift) on every input.
exit(Fuzz.main(fuzzDNO))
