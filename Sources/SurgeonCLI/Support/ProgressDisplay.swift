import Foundation
import SurgeonCore

/// Shows training progress: a redrawn bar with loss and accuracy on a terminal, one line per
/// epoch otherwise (logs, CI). Writes to standard error so that `--json` output stays clean.
final class ProgressDisplay: @unchecked Sendable {
    private let terminal = Output.isTerminal
    private let lock = NSLock()

    func handle(_ event: TrainingEvent) {
        lock.lock(); defer { lock.unlock() }
        switch event {
        case let .step(epoch, epochs, step, steps, loss, accuracy):
            guard terminal else { return }
            let width = 30
            let filled = width * step / max(steps, 1)
            let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
            let text = String(
                format: "epoch %d/%d [%@] %d/%d loss %.4f acc %.4f", epoch, epochs, bar, step, steps, loss, accuracy)
            FileHandle.standardError.write(Data(("\r" + text).utf8))
        case let .epochEnd(m):
            var line = String(format: "epoch %d: loss %.4f acc %.4f", m.epoch, m.loss, m.accuracy)
            if let vl = m.validationLoss, let va = m.validationAccuracy {
                line += String(format: " val_loss %.4f val_acc %.4f", vl, va)
            }
            line += String(format: " lr %.4g (%.1fs)", m.learningRate, m.seconds)
            for (k, v) in m.regularizerReport.sorted(by: { $0.key < $1.key }) {
                line += String(format: " %@ %.4g", k, v)
            }
            FileHandle.standardError.write(Data(((terminal ? "\r\u{1B}[K" : "") + line + "\n").utf8))
        }
    }
}
