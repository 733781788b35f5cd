import Foundation

/// Small, dependency-free SVG charts for the run report: grouped bars and lines, with axes,
/// ticks and a legend. Every chart is a self-contained `<svg>` element.
public enum SVGChart {
    public struct Series: Sendable {
        public var name: String
        public var values: [Double]
        public var color: String

        public init(_ name: String, _ values: [Double], color: String) {
            self.name = name
            self.values = values
            self.color = color
        }
    }

    static let width = 640.0, height = 300.0
    static let left = 60.0, right = 16.0, top = 36.0, bottom = 64.0
    public static let palette = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#9D755D"]

    /// Grouped bars: one group per label, one bar per series.
    public static func bars(
        title: String, labels: [String], series: [Series], yLabel: String, percent: Bool = false
    ) -> String {
        let maxValue = max(series.flatMap(\.values).max() ?? 1, 1e-12)
        let top = niceCeiling(maxValue)
        let plotW = width - left - right, plotH = height - self.top - bottom
        let groupW = plotW / Double(max(labels.count, 1))
        let barW = max(1, groupW * 0.8 / Double(max(series.count, 1)))
        var body = axes(yMin: 0, yMax: top, yLabel: yLabel, percent: percent)
        for (s, serie) in series.enumerated() {
            for (i, v) in serie.values.enumerated() where i < labels.count {
                let h = plotH * v / top
                let x = left + Double(i) * groupW + groupW * 0.1 + Double(s) * barW
                body +=
                    #"<rect x="\#(f(x))" y="\#(f(self.top + plotH - h))" width="\#(f(barW - 0.5))" height="\#(f(h))" "#
                    + #"fill="\#(serie.color)"><title>\#(escape(serie.name)) \#(escape(labels[i])): "#
                    + #"\#(format(v, percent))</title></rect>"#
            }
        }
        let step = max(1, Int((Double(labels.count) / 16).rounded(.up)))
        for (i, label) in labels.enumerated() where i % step == 0 {
            let x = left + (Double(i) + 0.5) * groupW
            body +=
                #"<text x="\#(f(x))" y="\#(f(self.top + plotH + 10))" font-size="9" text-anchor="end" "#
                + #"transform="rotate(-40 \#(f(x)) "#
                + #"\#(f(self.top + plotH + 10)))">\#(escape(String(label.prefix(22))))</text>"#
        }
        return frame(title: title, body: body + legend(series))
    }

    /// Lines over x positions `0..<n` (or given `xs`), e.g. training curves by epoch. With
    /// `zoom`, the y axis spans the values (a one-point accuracy drop stays visible) instead of
    /// starting at 0; `pointLabels` names the points of the first series.
    public static func lines(
        title: String, series: [Series], xs: [Double]? = nil, xLabel: String, yLabel: String,
        percent: Bool = false, yMax: Double? = nil, zoom: Bool = false, pointLabels: [String] = []
    ) -> String {
        let count = series.map(\.values.count).max() ?? 0
        let xValues = xs ?? (0..<count).map(Double.init)
        let xMin = xValues.min() ?? 0, xMax = max(xValues.max() ?? 1, xMin + 1e-9)
        let values = series.flatMap(\.values).filter(\.isFinite)
        let (bottomValue, top) =
            zoom
            ? zoomedRange(values, ceiling: percent ? 1 : nil)
            : (0, yMax ?? niceCeiling(max(values.max() ?? 1, 1e-12)))
        let plotW = width - left - right, plotH = height - self.top - bottom
        var body = axes(yMin: bottomValue, yMax: top, yLabel: yLabel, percent: percent)
        func px(_ x: Double) -> Double { left + plotW * (x - xMin) / (xMax - xMin) }
        func py(_ y: Double) -> Double {
            self.top + plotH - plotH * (min(max(y, bottomValue), top) - bottomValue) / (top - bottomValue)
        }
        for (s, serie) in series.enumerated() {
            let points = zip(xValues, serie.values).map { "\(f(px($0))),\(f(py($1)))" }.joined(separator: " ")
            body += #"<polyline points="\#(points)" fill="none" stroke="\#(serie.color)" stroke-width="2"/>"#
            for (k, (x, y)) in zip(xValues, serie.values).enumerated() {
                body +=
                    #"<circle cx="\#(f(px(x)))" cy="\#(f(py(y)))" r="2.5" "#
                    + #"fill="\#(serie.color)"><title>\#(escape(serie.name)) at \#(format(x, false)): "#
                    + #"\#(format(y, percent))</title></circle>"#
                if s == 0, k < pointLabels.count {
                    body +=
                        #"<text x="\#(f(px(x) + 5))" y="\#(f(py(y) - 5))" font-size="10">"#
                        + #"\#(escape(pointLabels[k])) \#(format(y, percent))</text>"#
                }
            }
        }
        let integral = xValues.allSatisfy { $0 == $0.rounded() }
        let ticks: [Double] =
            integral
            ? Array(stride(from: xMin, through: xMax, by: max(1, ((xMax - xMin) / 8).rounded(.up))))
            : (0...4).map { xMin + (xMax - xMin) * Double($0) / 4 }
        for x in ticks {
            body +=
                #"<text x="\#(f(px(x)))" y="\#(f(self.top + plotH + 16))" font-size="10" "#
                + #"text-anchor="middle">\#(format(x, false))</text>"#
        }
        body +=
            #"<text x="\#(f(left + plotW / 2))" y="\#(f(height - 22))" font-size="11" "#
            + #"text-anchor="middle">\#(escape(xLabel))</text>"#
        return frame(title: title, body: body + legend(series))
    }

    /// A y range around `values` with about 15% margin and round ends, at most `ceiling`.
    static func zoomedRange(_ values: [Double], ceiling: Double?) -> (Double, Double) {
        guard let lo = values.min(), let hi = values.max() else { return (0, ceiling ?? 1) }
        let step = niceCeiling(max((hi - lo) * 1.3, ceiling == nil ? max(abs(hi) * 1e-3, 1e-9) : 0.004) / 4)
        var low = max(0, ((lo - 0.15 * (hi - lo)) / step).rounded(.down) * step)
        var high = low + 4 * step
        while high < hi + 0.1 * step { high += step }
        if let ceiling, high > ceiling {
            high = ceiling
            low = min(low, max(0, high - 4 * step))
        }
        return (low, high)
    }

    static func axes(yMin: Double, yMax: Double, yLabel: String, percent: Bool) -> String {
        let plotW = width - left - right, plotH = height - top - bottom
        var s =
            #"<line x1="\#(f(left))" y1="\#(f(top))" x2="\#(f(left))" y2="\#(f(top + plotH))" stroke="rgb(51,51,51)"/>"#
        s +=
            #"<line x1="\#(f(left))" y1="\#(f(top + plotH))" x2="\#(f(left + plotW))" y2="\#(f(top + plotH))" "#
            + #"stroke="rgb(51,51,51)"/>"#
        for k in 0...4 {
            let v = yMin + (yMax - yMin) * Double(k) / 4, y = top + plotH - plotH * Double(k) / 4
            s +=
                #"<line x1="\#(f(left))" y1="\#(f(y))" x2="\#(f(left + plotW))" y2="\#(f(y))" stroke="rgb(221,221,"#
                + #"221)"/>"#
            s +=
                #"<text x="\#(f(left - 6))" y="\#(f(y + 3))" font-size="10" "#
                + #"text-anchor="end">\#(format(v, percent))</text>"#
        }
        s +=
            #"<text x="14" y="\#(f(top + plotH / 2))" font-size="11" text-anchor="middle" transform="rotate(-90 14 "#
            + #"\#(f(top + plotH / 2)))">\#(escape(yLabel))</text>"#
        return s
    }

    static func legend(_ series: [Series]) -> String {
        var s = ""
        var x = left
        for serie in series {
            s += #"<rect x="\#(f(x))" y="\#(f(height - 14))" width="10" height="10" fill="\#(serie.color)"/>"#
            s += #"<text x="\#(f(x + 14))" y="\#(f(height - 5))" font-size="11">\#(escape(serie.name))</text>"#
            x += 24 + Double(serie.name.count) * 6.5
        }
        return s
    }

    static func frame(title: String, body: String) -> String {
        #"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(Int(width)) \#(Int(height))" "#
            + #"width="100%" preserveAspectRatio="xMidYMid meet" font-family="sans-serif"><text x="\#(f(width / 2))" "#
            + #"y="20" font-size="14" font-weight="bold" text-anchor="middle">\#(escape(title))</text>\#(body)</svg>"#
    }

    static func niceCeiling(_ v: Double) -> Double {
        let magnitude = pow(10, floor(log10(v)))
        for m in [1.0, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10] where m * magnitude >= v { return m * magnitude }
        return 10 * magnitude
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func format(_ v: Double, _ percent: Bool) -> String {
        if percent { return String(format: "%.1f%%", v * 100) }
        if abs(v) >= 1e6 { return String(format: "%.1fM", v / 1e6) }
        if abs(v) >= 1e3 { return String(format: "%.1fk", v / 1e3) }
        if v == v.rounded() { return String(Int(v)) }
        return String(format: "%.3g", v)
    }

    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;"
        )
        .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
