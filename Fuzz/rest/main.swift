import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

// libFuzzer runs ``fuzzREST(_:_:)`` (Harness.swift) on every input.
exit(Fuzz.main(fuzzREST))
