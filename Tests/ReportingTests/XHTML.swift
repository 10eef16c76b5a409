import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import Datasets
import Training
import Runs

/// A parsed page. The report is written as XHTML-compatible HTML, so a strict XML parser is
/// the well-formedness check: any unbalanced tag, unquoted attribute, bare `&` or stray `<`
/// fails the parse.
final class Element {
    let name: String
    let attributes: [String: String]
    var children: [Element] = []
    /// Text directly inside this element.
    var text = ""
    /// All text below, in document order.
    var allText = ""
    weak var parent: Element?

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    var classes: [String] { (attributes["class"] ?? "").split(separator: " ").map(String.init) }

    /// All elements below (depth first, document order), including self.
    var all: [Element] { [self] + children.flatMap(\.all) }

    func first(_ name: String, id: String? = nil, class cls: String? = nil) -> Element? {
        all.first { $0.name == name && (id == nil || $0.attributes["id"] == id) && (cls == nil || $0.classes.contains(cls!)) }
    }

    func elements(_ name: String, class cls: String? = nil) -> [Element] {
        all.filter { $0.name == name && (cls == nil || $0.classes.contains(cls!)) }
    }
}

enum XHTML {
    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    static let voidElements: Set<String> = ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]
    /// SVG children may self-close; HTML non-void elements may not (an HTML parser would leave them open).
    static let svgElements: Set<String> = ["svg", "g", "line", "polyline", "circle", "text", "title", "rect", "path"]

    static func parse(_ text: String, file: String) throws -> Element {
        let delegate = Builder()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = delegate
        parser.shouldResolveExternalEntities = false
        // swift-corelibs-foundation's parser recovers from some errors (a mismatched end tag)
        // and still returns true, so every reported error counts, and end tags are matched here too.
        let ok = parser.parse()
        if let problem = delegate.errors.first ?? parser.parserError.map({ "\($0)" }) ?? (ok ? nil : "unknown error") {
            throw ParseError(description: "\(file): not well-formed near line \(parser.lineNumber), column \(parser.columnNumber): \(problem)")
        }
        guard let root = delegate.root, delegate.stack.isEmpty else { throw ParseError(description: "\(file): unclosed elements") }
        // Self-closing syntax is only safe on void elements (and inside SVG).
        let selfClosed = try NSRegularExpression(pattern: "<([A-Za-z][A-Za-z0-9]*)\\b[^<>]*/>")
        for match in selfClosed.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let name = String(text[Range(match.range(at: 1), in: text)!]).lowercased()
            if !voidElements.contains(name) && !svgElements.contains(name) {
                throw ParseError(description: "\(file): <\(name)/> is self-closed, which HTML parsers read as an open tag")
            }
        }
        for e in root.all where voidElements.contains(e.name) && (!e.children.isEmpty || !e.text.isEmpty) {
            throw ParseError(description: "\(file): void element <\(e.name)> has content")
        }
        guard text.hasPrefix("<!DOCTYPE html>") else { throw ParseError(description: "\(file): missing <!DOCTYPE html>") }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var root: Element?
        var stack: [Element] = []
        var errors: [String] = []

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
            errors.append("\(parseError) at line \(parser.lineNumber), column \(parser.columnNumber)")
        }

        func parser(_ parser: XMLParser, validationErrorOccurred validationError: Error) {
            errors.append("\(validationError)")
        }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            let e = Element(name: name, attributes: attributes)
            e.parent = stack.last
            stack.last?.children.append(e)
            if root == nil { root = e }
            stack.append(e)
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if stack.last?.name != name { errors.append("</\(name)> closes <\(stack.last?.name ?? "nothing")>") }
            if !stack.isEmpty { stack.removeLast() }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            stack.last?.text += string
            for e in stack { e.allText += string }
        }
    }

    /// `url(...)` references in CSS text.
    static func cssURLs(_ css: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: "url\\(\\s*['\"]?([^'\")]+)['\"]?\\s*\\)")
        return regex.matches(in: css, range: NSRange(css.startIndex..., in: css)).map {
            String(css[Range($0.range(at: 1), in: css)!])
        }
    }

    /// Pixel lengths in an inline style, e.g. `["width": [60], "background-position": [-120, -60]]`.
    static func style(_ css: String) -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        for decl in css.split(separator: ";") {
            let parts = decl.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            let numbers = parts[1].split(separator: " ").compactMap { Int($0.replacingOccurrences(of: "px", with: "")) }
            if !numbers.isEmpty { out[parts[0]] = numbers }
        }
        return out
    }
}
