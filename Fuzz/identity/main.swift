import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

// libFuzzer runs ``fuzzIdentity(_:_:)`` (Harness.swift) on every input.
exit(Fuzz.main(fuzzIdentity))
