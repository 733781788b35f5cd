import Foundation
import XCTest

@testable import SurgeonPipeline

/// What in an HTML page makes a browser fetch something: a `src` or `href` to a URL (a scheme
/// with `//`, or `//` alone), a `<link>`, a `<script src>`, a CSS `url(...)` to a URL, or an
/// `@import`. SVG's namespace declaration (`xmlns="http://www.w3.org/2000/svg"`) fetches
/// nothing and is not one. Returns each offending piece of `html`.
func fetchedResources(in html: String) -> [String] {
    let url = #"["']?\s*(?:[a-z][a-z0-9+.-]*:)?//"#
    let patterns = [
        #"\b(?:src|href)\s*=\s*"# + url, #"<link\b"#, #"<script\b[^>]*\bsrc\s*="#, #"url\(\s*"# + url, #"@import\b"#,
    ]
    return patterns.flatMap { pattern -> [String] in
        guard let regex = try? Regex(pattern).ignoresCase().wordBoundaryKind(.simple) else {
            return ["bad pattern \(pattern)"]
        }
        return html.matches(of: regex).map { String(html[$0.range]) }
    }
}

final class RunReportTests: XCTestCase {
    /// Two stages as a run would write them, without training anything.
    private func report() throws -> String {
        func stage(_ index: Int, _ name: String, _ label: String) -> String {
            #"{"index": \#(index), "stage": "\#(name)", "label": "\#(label)", "accuracy": 0.9, "loss": 0.3, "#
                + #""params": 1000, "macs": 5000, "#
                + #""seconds": 1, "history": [], "gammas": [0.5, 0.01]}"#
        }
        let json = "[\(stage(1, "train", "baseline")), \(stage(2, "eval", "eval"))]"
        let results = try JSONDecoder().decode([StageResult].self, from: Data(json.utf8))
        return RunReport.html(title: "a run", results: results)
    }

    func testReport_fetchesNothing() throws {
        let html = try report()
        XCTAssertTrue(html.contains("http://www.w3.org/2000/svg"), "the charts are inline SVG")
        XCTAssertEqual(fetchedResources(in: html), [])
    }

    /// The check above can fail: each way of fetching, put into the same report, is found.
    /// A person reads the report at a glance: the accuracy axis spans the values (a one-point
    /// drop is a quarter of the chart, not 1% of it), counts have thousands separators, and
    /// the charts take the page's width.
    func testReport_zoomsTheAccuracyAxis_groupsThousands_andUsesThePageWidth() throws {
        let (low, high) = SVGChart.zoomedRange([0.966, 0.978, 0.97], ceiling: 1)
        XCTAssertLessThanOrEqual(low, 0.966)
        XCTAssertGreaterThanOrEqual(high, 0.978)
        XCTAssertLessThan(high - low, 0.05, "\(low)...\(high)")
        XCTAssertEqual(SVGChart.zoomedRange([0.2, 0.99], ceiling: 1).1, 1, "never above 100%")
        let html = try report()
        XCTAssertTrue(html.contains("<td>1,000</td>") && html.contains("<td>5,000</td>"), html)
        XCTAssertTrue(html.contains("Validation accuracy against MACs"))
        XCTAssertTrue(html.contains(#"width="100%""#))
    }

    func testFetchCheck_findsEveryWayOfFetching() throws {
        let html = try report()
        let fetches = [
            #"<img src="https://example.com/a.png">"#, #"<a href="http://example.com/">more</a>"#,
            #"<img src='//cdn.example.com/b.png'>"#, #"<link rel="stylesheet" href="style.css">"#,
            #"<script src="app.js"></script>"#, #"<style>body { background: url(http://example.com/c.png) }</style>"#,
            #"<style>@import "theme.css";</style>"#, #"<svg><image xlink:href="https://example.com/d.svg"/></svg>"#,
        ]
        for fetch in fetches {
            let page = html.replacingOccurrences(of: "</body>", with: fetch + "</body>")
            XCTAssertNotEqual(page, html, "the report has a </body> to insert before")
            XCTAssertEqual(fetchedResources(in: page).count, 1, fetch)
        }
    }
}
