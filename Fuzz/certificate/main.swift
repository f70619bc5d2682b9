import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

// libFuzzer runs ``fuzzCertificate(_:_:)`` (Harness.swift) on every input.
exit(Fuzz.main(fuzzCertificate))
