import Callsign
import CallsignFetch
import CallsignService
import CallsignStore
import Logging
import Metrics
import ServiceLifecycle

/// Moves what the decision flows queued (``CallAnalytics``) into the store
/// once a second: verification records (those not journalled), per-minute counts, alerts (each also
/// logged and handed to the webhook, once across the nodes sharing the store). Once an hour it deletes records and
/// counts past the retention. A write that fails drops its records and counts
/// them (`callsign_call_records_dropped_total{reason}`): calls never wait for it.
struct AnalyticsWriter: Service {
    let analytics: CallAnalytics
    let store: any CallsignStore
    let webhook: AlertWebhook?
    let retentionSeconds: Int64
    let logNumbers: Bool
    let logger: Logger
    let now: @Sendable () -> Int64
    var interval: Duration = .seconds(1)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastPrune: Int64 = 0
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { break }
                await flush()
                let time = now()
                if time - lastPrune >= 3600 {
                    lastPrune = time
                    await prune(at: time)
                }
            }
        }
        await flush()
    }

    /// Writes what is queued now.
    func flush() async {
        let drained = analytics.drain()
        Self.count("callsign_call_records_dropped_total", ("reason", "queue_full"), drained.droppedRecords)
        Self.count("callsign_call_records_dropped_total", ("reason", "journal"), drained.droppedJournal)
        Self.count("callsign_call_records_total", ("kind", "verified"), drained.journaledRecords)
        if drained.droppedAlerts > 0 {
            Counter(label: "callsign_alerts_dropped_total").increment(by: drained.droppedAlerts)
        }
        await write("verified", "verification records", drained.records.count) { try await store.recordVerified(drained.records) }
        await write("refused", "refused-signing records", drained.refused.count) { try await store.record(drained.refused) }
        if !drained.rollups.isEmpty {
            do {
                try await store.addRollups(drained.rollups)
            } catch {
                logger.warning("per-minute counts not stored: \(error)")
            }
        }
        for alert in drained.alerts {
            do {
                // Another node sharing the store may have raised it already in this window: said once.
                guard try await store.saveAlert(alert) else { continue }
            } catch {
                logger.warning("alert not stored: \(error)")
            }
            logger.warning("alert \(alert.signal): \(Self.loggable(alert.key, logNumbers: logNumbers)) reached \(alert.count) (threshold \(alert.threshold) in \(alert.windowS) s, \(alert.mode))")
            webhook?.enqueue(JSONWriter.canonical(.object(alert.json)))
        }
    }

    /// Writes `count` records of one kind, counted as stored, or as dropped when the store fails.
    private func write(_ kind: String, _ what: String, _ count: Int, _ insert: () async throws -> Void) async {
        guard count > 0 else { return }
        do {
            try await insert()
            Self.count("callsign_call_records_total", ("kind", kind), count)
        } catch {
            Self.count("callsign_call_records_dropped_total", ("reason", "store"), count)
            logger.warning("\(what) not stored (\(count) dropped): \(error)")
        }
    }

    private static func count(_ label: String, _ dimension: (String, String), _ value: Int) {
        if value > 0 { Counter(label: label, dimensions: [dimension]).increment(by: value) }
    }

    func prune(at time: Int64) async {
        do {
            let removed = try await store.pruneVerified(before: time - retentionSeconds)
            try await store.pruneRollups(before: time - retentionSeconds)
            if removed > 0 { logger.info("call records: \(removed) verification record(s) past the retention deleted") }
        } catch {
            logger.warning("call records not pruned: \(error)")
        }
    }

    /// An alert's key for a log line: a calling number (the key of
    /// `one-number-many-origins`) is personal data and shown only when configured.
    static func loggable(_ key: String, logNumbers: Bool) -> String {
        guard !logNumbers, let first = key.unicodeScalars.first, first.properties.numericType != nil else { return key }
        return "a calling number (\(key.count) digits; log_numbers shows it)"
    }
}

/// Runs the alert webhook's sender until graceful shutdown.
struct AlertWebhookService: Service {
    let webhook: AlertWebhook

    func run() async throws {
        await cancelWhenGracefulShutdown { await webhook.run() }
    }
}
