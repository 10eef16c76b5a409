import Foundation
import Plot
import Monitoring

/// Escaping for every string that comes from the data or the user (run names, class names,
/// layer names, paths, configuration strings).
///
/// Plot 0.14 escapes `<`, `>` and `&` in text nodes but keeps anything that looks like an entity
/// (`&lt;` stays `&lt;`, so such text is not shown verbatim), and it writes attribute values as
/// given: a `"` in a title would end the attribute. So the report escapes all five special
/// characters itself and hands Plot finished markup. The output is also well-formed XML, which
/// the tests check with a strict parser: C0 control characters, illegal in XML, become U+FFFD.
enum Escape {
    static func html(_ string: String) -> String {
        // Most text (numbers, class and layer names) has nothing to escape: seen on its UTF-8
        // bytes, it is returned as it is. 0xEF leads U+FFFE and U+FFFF (and their neighbours,
        // which the loop below keeps).
        if !string.utf8.contains(where: { $0 < 0x20 || $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 || $0 == 0xEF }) {
            return string
        }
        var out = String.UnicodeScalarView()
        for scalar in string.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            case "\t", "\n", "\r": out.append(scalar)
            default:
                out.append(scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF ? "\u{FFFD}" : scalar)
            }
        }
        return String(out)
    }
}

/// Body content; every page is built from these Plot nodes.
typealias Content = Node<HTML.BodyContext>

extension Node {
    /// Escaped text (the only way page text enters the markup).
    static func txt(_ string: String) -> Node { .raw(Escape.html(string)) }

    /// An attribute whose value is escaped; empty values are dropped (a bare attribute name is
    /// not well-formed XML).
    static func attr(_ name: String, _ value: String) -> Node {
        .attribute(named: name, value: Escape.html(value), ignoreIfValueIsEmpty: true)
    }

    /// An element Plot has no typed builder for (figure, svg, select, ...).
    static func el(_ name: String, _ nodes: [Node]) -> Node { .element(named: name, nodes: nodes) }
    static func el(_ name: String, _ nodes: Node...) -> Node { .element(named: name, nodes: nodes) }
}

/// A link with escaped text.
func link<C: HTMLContext>(_ text: String, to href: String, class cls: String? = nil, title: String? = nil) -> Node<C> {
    .element(named: "a", nodes: [.attr("href", href), cls.map { .attr("class", $0) } ?? .empty,
                                 title.map { .attr("title", $0) } ?? .empty, .txt(text)])
}

/// Number formatting in one place, so units and precision agree across pages.
enum Format {
    static func number(_ value: Double, digits: Int = 3) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "+inf" : "-inf") }
        let magnitude = abs(value)
        if magnitude != 0 && (magnitude < 0.001 || magnitude >= 1_000_000) { return NumberText.printf("%.\(max(1, digits - 1))e", value) }
        if magnitude >= pow(10, Double(digits)) { return NumberText.printf("%.0f", value) }   // 1234, not 1.23e+03
        return NumberText.printf("%.\(digits)g", value)
    }
    static func number(_ value: Float, digits: Int = 3) -> String { number(Double(value), digits: digits) }
    static func fixed(_ value: Double, _ digits: Int) -> String {
        value.isFinite ? NumberText.printf("%.\(digits)f", value) : number(value)
    }
    static func percent(_ share: Double, digits: Int = 1) -> String { fixed(share * 100, digits) + "%" }
    static func shape(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: "\u{00D7}") }
}

/// The HTML document around a page's content: head with the shared stylesheet and an optional
/// page style (sprite URLs and sizes, generated from sanitized file names and numbers only).
enum PageShell {
    static func render(title: String, pageStyle: String? = nil, body: [Content]) -> String {
        let html = HTML(
            .lang(.english),
            .head(
                .meta(.charset(.utf8)),
                .meta(.name("viewport"), .content("width=device-width, initial-scale=1")),
                .element(named: "title", nodes: [.txt(title)]),
                .link(.rel(.stylesheet), .href(ReportFiles.stylesheet)),
                pageStyle.map { .style($0) } ?? .empty
            ),
            .body(.group(body))
        )
        return html.render() + "\n"
    }

    /// Breadcrumb and report title shared by every page.
    static func header(runName: String, trail: [(text: String, href: String?)], heading: String, subtitle: [Content]) -> Content {
        var crumbs: [Content] = [link(runName, to: ReportFiles.index)]
        for item in trail {
            crumbs.append(.span(.class("sep"), .txt(" / ")))
            crumbs.append(item.href.map { link(item.text, to: $0) } ?? .span(.txt(item.text)))
        }
        return .header(
            trail.isEmpty ? .empty : .nav(.class("crumbs"), .attr("aria-label", "breadcrumb"), .group(crumbs)),
            .h1(.txt(heading)),
            .p(.class("subtitle"), .group(subtitle))
        )
    }

    static func footer() -> Content {
        .footer(.p(.txt("Generated by deconvscope from findings.json and data/*.h5 of this folder. Static files: no network, no external assets.")))
    }
}
