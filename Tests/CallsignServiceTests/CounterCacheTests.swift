
@testable import CallsignService
import CallsignStore
import Metrics
import Testing

@Suite("Counter handles kept per label and dimensions")
struct CounterCacheTests {
    @Test("the same label and dimensions get the same handle; another value, order or label gets another")
    func oneHandlePerKey() {
        let cache = CounterCache(capacity: 16, keepsNoOpHandles: true)
        let a = cache.handle("calls_total", [("verstat", "passed"), ("reason", "none")])
        #expect(a === cache.handle("calls_total", [("verstat", "passed"), ("reason", "none")]))
        #expect(a !== cache.handle("calls_total", [("verstat", "failed"), ("reason", "none")]))
        #expect(a !== cache.handle("calls_total", [("reason", "none"), ("verstat", "passed")]))
        #expect(a !== cache.handle("other_total", [("verstat", "passed"), ("reason", "none")]))
        #expect(a !== cache.handle("calls_total", [("verstat", "passed")]))
        // Parts are compared whole: moving a character between name and value is another key.
        #expect(cache.handle("x", [("ab", "c")]) !== cache.handle("x", [("a", "bc")]))
        #expect(cache.handle("unlabeled_total", []) === cache.handle("unlabeled_total", []))
    }

    @Test("past the capacity a handle is made per call and not kept; earlier keys keep theirs")
    func bounded() {
        let cache = CounterCache(capacity: 2, keepsNoOpHandles: true)
        let first = cache.handle("bounded_a", [])
        let second = cache.handle("bounded_b", [])
        #expect(cache.handle("bounded_c", []) !== cache.handle("bounded_c", []))
        #expect(first === cache.handle("bounded_a", []))
        #expect(second === cache.handle("bounded_b", []))
    }

    @Test("every count series is per minute exactly when the store and dashboard read it so (CallRollup.perMinuteSeries)")
    func seriesBuckets() {
        for series in CallAnalytics.Series.allCases {
            #expect(series.bucketSeconds == (CallRollup.perMinuteSeries.contains(series.name) ? 60 : 3600), "\(series.name)")
        }
        #expect(Set(CallAnalytics.Series.allCases.map(\.name)).isSuperset(of: CallRollup.perMinuteSeries))
    }
}
