import Foundation
import SurgeonCore

/// The run's `report.html`: self-contained (inline SVG and CSS, nothing fetched), with the
/// |gamma| histogram before and after sparse training, kept channels per layer, accuracy and
/// MACs per stage, the training curves and, when measured, the sensitivity curves.
public enum RunReport {
    public static func html(title: String, results: [StageResult]) -> String {
        let c = SVGChart.palette
        var sections: [String] = []
        sections.append(table(results))

        let stageLabels = results.map(\.label)
        sections.append(
            SVGChart.lines(
                title: "Validation accuracy against MACs, stage by stage",
                series: [.init("accuracy", results.map(\.accuracy), color: c[0])], xs: results.map { Double($0.macs) },
                xLabel: "multiply-accumulates per sample", yLabel: "validation accuracy", percent: true, zoom: true,
                pointLabels: stageLabels))
        sections.append(
            SVGChart.bars(
                title: "MACs per sample per stage", labels: stageLabels,
                series: [.init("MACs", results.map { Double($0.macs) }, color: c[1])], yLabel: "multiply-accumulates"))
        sections.append(
            SVGChart.bars(
                title: "Parameters per stage", labels: stageLabels,
                series: [.init("parameters", results.map { Double($0.params) }, color: c[2])], yLabel: "parameters"))

        if let baseline = results.first(where: { $0.stage == "train" }) ?? results.first,
            let sparse = results.first(where: { $0.stage == "sparse" })
        {
            let (labels, before) = histogram(baseline.gammas)
            let (_, after) = histogram(sparse.gammas)
            sections.append(
                SVGChart.bars(
                    title: "|gamma| before and after sparse training (Network Slimming)", labels: labels,
                    series: [
                        .init("after \(baseline.label)", before, color: c[0]),
                        .init("after sparse training", after, color: c[3]),
                    ],
                    yLabel: "BatchNorm channels"))
        }

        if let prune = results.first(where: { $0.pruning != nil }), let summary = prune.pruning {
            let producerTypes = ["Conv2D", "Dense", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"]
            let producers = summary.layers.filter { producerTypes.contains($0.type) }
            sections.append(
                SVGChart.bars(
                    title: "Channels per layer before and after pruning", labels: producers.map(\.name),
                    series: [
                        .init("before", producers.map { Double($0.channelsBefore) }, color: c[0]),
                        .init("after", producers.map { Double($0.channelsAfter) }, color: c[1]),
                    ],
                    yLabel: "output channels"))
            if let sensitivity = prune.sensitivity, !sensitivity.curves.isEmpty {
                sections.append(sensitivityChart(sensitivity))
            }
        }
        for search in results.compactMap(\.search) { sections.append(searchChart(search)) }

        var epochs: [Double] = [], loss: [Double] = [], trainAcc: [Double] = [], valAcc: [Double] = []
        var boundaries: [String] = []
        for r in results where !r.history.isEmpty {
            boundaries.append("\(r.label): epochs \(epochs.count + 1)-\(epochs.count + r.history.count)")
            for m in r.history {
                epochs.append(Double(epochs.count + 1))
                loss.append(m.loss)
                trainAcc.append(m.accuracy)
                valAcc.append(m.validationAccuracy ?? m.accuracy)
            }
        }
        if !epochs.isEmpty {
            sections.append(
                SVGChart.lines(
                    title: "Training curves: accuracy",
                    series: [.init("train", trainAcc, color: c[0]), .init("validation", valAcc, color: c[1])],
                    xs: epochs, xLabel: "epoch across stages (" + boundaries.joined(separator: "; ") + ")",
                    yLabel: "accuracy", percent: true, zoom: true))
            sections.append(
                SVGChart.lines(
                    title: "Training curves: loss", series: [.init("training loss", loss, color: c[3])],
                    xs: epochs, xLabel: "epoch across stages", yLabel: "cross-entropy"))
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(SVGChart.escape(title))</title>
            <style>
            body { font-family: sans-serif; margin: 24px; color: #222; }
            h1 { font-size: 22px; } table { border-collapse: collapse; margin: 12px 0 20px; }
            th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; } th:first-child, td:first-child { \
            text-align: left; }
            .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; } \
            .charts svg { border: 1px solid #eee; background: #fff; height: auto; }
            </style></head><body>
            <h1>\(SVGChart.escape(title))</h1>
            \(sections[0])
            <div class="charts">
            \(sections.dropFirst().joined(separator: "\n"))
            </div>
            </body></html>
            """
    }

    static func table(_ results: [StageResult]) -> String {
        var rows =
            "<tr><th>stage</th><th>val accuracy</th><th>loss</th><th>parameters</th><th>MACs</th><th>latency b1 "
            + "(ms)</th><th>latency b64 (ms)</th><th>seconds</th></tr>"
        for r in results {
            rows +=
                "<tr><td>\(SVGChart.escape(r.label))</td><td>\(String(format: "%.2f%%", r.accuracy * 100))</td>"
                + "<td>\(String(format: "%.4f", r.loss))</td><td>\(Thousands.grouped(r.params))</td>"
                + "<td>\(Thousands.grouped(r.macs))</td>"
                + "<td>\(r.latencyMsBatch1.map { String(format: "%.2f", $0) } ?? "-")</td>"
                + "<td>\(r.latencyMsBatch64.map { String(format: "%.2f", $0) } ?? "-")</td>"
                + "<td>\(String(format: "%.1f", r.seconds))</td></tr>"
        }
        return "<table>\(rows)</table>"
    }

    /// Counts of |gamma| in decades from 1e-6 to 10.
    static func histogram(_ values: [Float]) -> (labels: [String], counts: [Double]) {
        let edges = (-6...1).map { pow(10.0, Double($0)) }
        var counts = [Double](repeating: 0, count: edges.count + 1)
        for v in values {
            let k = edges.firstIndex { Double(v) < $0 } ?? edges.count
            counts[k] += 1
        }
        let labels = ["< 1e-6"] + (0..<(edges.count - 1)).map { "1e\(-6 + $0)..1e\(-5 + $0)" } + [">= 10"]
        return (labels, counts)
    }

    /// The `max_drop` search: accuracy against the MACs share of every probe (and the unpruned
    /// model at 100%), with the lowest accuracy accepted; the probe kept is labelled.
    public static func searchChart(_ s: BudgetSearch.Report) -> String {
        let probes = s.probes.enumerated().sorted { $0.element.macs > $1.element.macs }
        let share = { (macs: Int) in 100 * Double(macs) / Double(max(s.baselineMacs, 1)) }
        let xs = [100] + probes.map { share($0.element.macs) }
        var series = [
            SVGChart.Series(
                s.finetuneEpochs > 0 ? "after \(s.finetuneEpochs) fine-tuning epoch(s)" : "after recalibration",
                [s.baselineAccuracy] + probes.map(\.element.accuracy), color: SVGChart.palette[0])
        ]
        if s.finetuneEpochs > 0 {
            series.append(
                .init(
                    "after recalibration", [s.baselineAccuracy] + probes.map(\.element.recalibratedAccuracy),
                    color: SVGChart.palette[2]))
        }
        series.append(
            .init(
                String(format: "lowest accepted (%g point(s) below)", s.maxDrop),
                xs.map { _ in s.threshold }, color: SVGChart.palette[3]))
        return SVGChart.lines(
            title: String(format: "Accuracy-targeted search (max drop %g point(s))", s.maxDrop), series: series,
            xs: xs, xLabel: "MACs, % of the unpruned model's", yLabel: "validation accuracy", percent: true,
            zoom: true, pointLabels: ["unpruned"] + probes.map { $0.offset == s.chosen ? "kept" : "" })
    }

    public static func sensitivityChart(_ s: SensitivityReport) -> String {
        let mostSensitive = s.curves.sorted { ($0.drops.max() ?? 0) > ($1.drops.max() ?? 0) }.prefix(7)
        let series = mostSensitive.enumerated().map { k, curve in
            SVGChart.Series(
                "\(curve.layer) (\(curve.size))", curve.drops.map { max($0, 0) },
                color: SVGChart.palette[k % SVGChart.palette.count])
        }
        return SVGChart.lines(
            title: "Sensitivity (\(s.strategy)): the 7 groups whose pruning costs most", series: Array(series),
            xs: s.ratios, xLabel: "share of the group's channels deleted", yLabel: "accuracy drop", percent: true)
    }
}
