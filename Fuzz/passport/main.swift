import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

// libFuzzer runs ``fuzzPASSporT(_:_:)`` (Harness.swift) on every input.
exit(Fuzz.main(fuzzPASSporT))
