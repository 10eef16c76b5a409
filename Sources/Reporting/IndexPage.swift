import Foundation
import Plot
import Monitoring
import Datasets
import Runs

/// `index.html`: the run at a glance. Status, training curves, the findings of every layer at
/// every snapshot (each count linking to its evidence), the static audits, the model and its
/// hyper-parameters, and how to read the figures.
struct IndexPage {
    let context: ReportContext
    /// Snapshots with occlusion maps (then `occlusion.html` exists).
    var occlusionEpochs: [Int] = []

    var findings: Findings { context.findings }

    func render() -> String {
        let body: [Content] = [
            PageShell.header(runName: findings.run, trail: [], heading: findings.run, subtitle: subtitle()),
            .nav(.class("layers"), .attr("aria-label", "layers"), .txt("Layers: "),
                 .group(context.layers.flatMap { [link($0.name, to: ReportFiles.layerPage($0.slug)), .txt(" ")] }),
                 occlusionEpochs.isEmpty ? .empty : .group([.txt(" \u{00B7} "), link("occlusion sensitivity", to: OcclusionPage.fileName)]),
                 .txt(" \u{00B7} "), link("classes", to: "#classes"), .txt(" \u{00B7} "), link("how layers learn", to: "#learning"),
                 .txt(" \u{00B7} "), link("how to read this", to: "#howto")),
            DiagnosesSection(context: context, hasOcclusion: !occlusionEpochs.isEmpty).render(),
            curves(),
            LayerLearningChart(metrics: findings.metrics).render(),
            ClassesSection(findings: findings, classNames: context.classNames).render(),
            snapshots(),
            layerSummary(),
            findingsTable(),
            occlusionSection(),
            audits(),
            modelTable(),
            hyperParameters(),
            howToRead(),
            PageShell.footer(),
        ]
        return PageShell.render(title: "\(findings.run) \u{2014} deconvscope report", body: body)
    }

    private func subtitle() -> [Content] {
        let status = findings.status
        let statusClass = status.unicodeScalars.allSatisfy { CharacterSet.lowercaseLetters.contains($0) } ? status : "other"
        var parts: [Content] = [.span(.class("status " + statusClass), .txt(status)),
                                .txt(" \u{00B7} updated "), .el("time", .txt(findings.updated)),
                                .txt(" \u{00B7} data: "), .span(.class("mono"), .txt(findings.data)),
                                .txt(" \u{00B7} input \(Format.shape(findings.inputShape)) \u{00B7} \(findings.probes) probe images, top \(findings.top) per feature map")]
        if status == "running" { parts.append(.txt(" \u{00B7} the run is still training: reload after the next snapshot")) }
        if status != "running", let message = findings.configuration?.message {
            parts.append(.txt(" \u{00B7} "))
            parts.append(.span(.class("status-message"), .txt(message)))
        }
        return parts
    }

    // MARK: Curves

    private func curves() -> Content {
        let metrics = findings.metrics.sorted { $0.epoch < $1.epoch }
        guard !metrics.isEmpty else {
            return .section(.id("curves"), .h2(.txt("Training curves")),
                            .p(.class("note"), .txt(findings.metricsNote ?? "No training metrics were recorded for this run.")))
        }
        let loss = Charts.lineChart(
            title: "Cross-entropy loss per epoch", xLabel: "epoch", yLabel: "loss (nats per image)",
            series: [Charts.Series(name: "train loss", cssClass: "series-a", points: metrics.compactMap { m in m.trainLoss.map { (Double(m.epoch), $0) } }),
                     Charts.Series(name: "test loss", cssClass: "series-b", points: metrics.map { (Double($0.epoch), $0.testLoss) })])
        let accuracy = Charts.lineChart(
            title: "Accuracy per epoch", xLabel: "epoch", yLabel: "accuracy (%)",
            series: [Charts.Series(name: "test accuracy", cssClass: "series-a", points: metrics.map { (Double($0.epoch), $0.testAccuracy * 100) }),
                     Charts.Series(name: "train accuracy", cssClass: "series-b", points: metrics.compactMap { m in m.trainAccuracy.map { (Double(m.epoch), $0 * 100) } })],
            yFormat: { Format.number($0) + "%" })
        return .section(.id("curves"), .h2(.txt("Training curves")), loss, accuracy,
                        .p(.class("muted"), .txt("Train values are averaged over each epoch's mini-batches (with dropout active); test values are measured after the epoch. Epoch 0 is the initialization.")))
    }

    // MARK: Snapshots and findings

    private func snapshots() -> Content {
        let head: Node<HTML.TableContext> = .thead(.tr(.th(.txt("epoch")), .th(.txt("step")), .th(.txt("test accuracy")),
                                                        .group(context.layers.map { .th(.txt($0.name)) })))
        let rows: [Node<HTML.TableContext>] = context.epochs.map { e in
            .tr(.td(.class("num"), .txt("\(e.epoch)")), .td(.class("num"), .txt("\(e.step)")),
                .td(.class("num"), .txt(e.testAccuracy.map { Format.percent($0) } ?? "\u{2013}")),
                .group(context.layers.map { l in .td(link("Fig. 2 view", to: ReportFiles.epochPage(l.slug, epoch: e.epoch))) }))
        }
        return .section(.id("snapshots"), .h2(.txt("Snapshots")),
                        context.epochs.isEmpty ? .p(.class("note"), .txt("No snapshot has been monitored yet.")) : .table(head, .tbody(.group(rows))))
    }

    /// Per layer: size, receptive field, when it settled and how many maps died.
    private func layerSummary() -> Content {
        let head: Node<HTML.TableContext> = .thead(.tr(.th(.txt("layer")), .th(.class("num"), .txt("feature maps")),
                                                        .th(.class("num"), .txt("receptive field (px)")), .th(.txt("settled")),
                                                        .th(.class("num"), .txt("moved since first snapshot")), .th(.txt("dead maps"))))
        let rows: [Node<HTML.TableContext>] = context.layers.map { layer in
            let maps = context.epochs.last?.layers.first { $0.name == layer.name }?.filters.count
            let rf = ReportContext.receptiveField(of: layer.name, model: findings.model)
            let convergence = findings.convergence.first { $0.name == layer.name }
            let settled = convergence.map { c in c.convergedAt.map { "at epoch \($0)" } ?? (c.steps.isEmpty ? "\u{2013}" : "not yet") } ?? "\u{2013}"
            let deaths = findings.deaths[layer.name] ?? []
            let stillDead = deaths.filter { $0.recoveredAt == nil }.count
            let dead = deaths.isEmpty ? "none" : "\(deaths.count) died, \(stillDead) still dead"
            let moved = movedSinceStart(layer.name).map { String(format: "%.1f%%", $0 * 100) } ?? "\u{2013}"
            return .tr(.td(link(layer.name, to: ReportFiles.layerPage(layer.slug))), .td(.class("num"), .txt(maps.map(String.init) ?? "\u{2013}")),
                       .td(.class("num"), .txt(rf.map(String.init) ?? "\u{2013}")),
                       .td(link(settled, to: ReportFiles.layerPage(layer.slug) + "#stability")), .td(.class("num"), .txt(moved)), .td(.txt(dead)))
        }
        let limit = findings.thresholds.barelyMoved
        let stuck = context.layers.compactMap { layer in movedSinceStart(layer.name).flatMap { $0 < limit ? (layer.name, $0) : nil } }
        let firstLayer = context.layers.first?.name
        let warnings: [Content] = stuck.map { name, change in
            let remedy = name == firstLayer
                ? "Start the run with --first-conv-init-std 0.01 (the paper's initial scale: learned structure then dominates the small random start within an epoch), or train longer."
                : "Train longer or with a larger --learning-rate."
            return .p(.class("warning"), .txt(String(format: "%@ has barely moved from its initialization: its filter patterns moved by a median of %.1f%% since the first snapshot (below %.0f%%). Its feature maps are still mostly random projections, so its \u{201C}settled\u{201D} epoch says little. %@", name, change * 100, limit * 100, remedy)))
        }
        return .section(.id("layers"), .h2(.txt("Layers")), .table(head, .tbody(.group(rows))), .group(warnings),
            .p(.class("muted"), .txt("Settled: from that snapshot on, the layer's features keep their top probe images and their responses between snapshots (the paper's Fig. 4 observation that lower layers settle first). Moved: median over the layer's filters of the distance between the filter's unit-norm pattern at the newest snapshot and at the first one (scale changes do not count; 0% = the same pattern, 141% = orthogonal).")))
    }

    /// Median relative weight change of a layer at the newest snapshot, when there are two or more.
    private func movedSinceStart(_ layer: String) -> Double? {
        findings.epochs.last?.layers.first { $0.name == layer }?.medianWeightChange
    }

    /// A count that links to the flag's row on the layer's epoch page.
    static func countCell(_ count: Int?, flag: FilterFlag, page: String) -> Node<HTML.TableRowContext> {
        guard let count else { return .td(.class("num zero"), .txt("\u{2013}")) }
        guard count > 0 else { return .td(.class("num zero"), .txt("0")) }
        return .td(.class("num"), link("\(count)", to: page + "#" + flag.rawValue, class: "count " + flag.rawValue,
                                       title: "\(count) \(flag.rawValue) feature map\(count == 1 ? "" : "s"): show the evidence"))
    }

    private func findingsTable() -> Content {
        let head: Node<HTML.TableContext> = .thead(.tr(.th(.txt("layer")), .th(.txt("epoch")),
                                                        .group(FilterFlag.tableOrder.map { .th(.class("num"), .txt($0.rawValue)) })))
        var rows: [Node<HTML.TableContext>] = []
        for layer in context.layers {
            for e in context.epochs {
                let lf = e.layers.first { $0.name == layer.name }
                let page = ReportFiles.epochPage(layer.slug, epoch: e.epoch)
                rows.append(.tr(.td(link(layer.name, to: ReportFiles.layerPage(layer.slug))), .td(.class("num"), link("\(e.epoch)", to: page)),
                                .group(FilterFlag.tableOrder.map { flag in IndexPage.countCell(lf.map { flag.filters(in: $0).count }, flag: flag, page: page) })))
            }
        }
        return .section(.id("findings"), .h2(.txt("Findings per layer and snapshot")),
            .p(.txt("Number of feature maps with each flag; a count links to the flagged maps and the numbers behind them. The criteria are in "), link("how to read this", to: "#howto"), .txt(".")),
            rows.isEmpty ? .p(.class("note"), .txt("No findings yet.")) : .table(head, .tbody(.group(rows))))
    }

    private func occlusionSection() -> Content {
        guard let latest = occlusionEpochs.last else { return .empty }
        return .section(.id("occlusion"), .h2(.txt("Occlusion sensitivity")),
            .p(.txt("Does the network look at the object? A gray square slides over probe images; the maps show how the top layer's strongest feature and the probability of the true class change with its position (the paper's Fig. 7): "),
               link("latest snapshot (epoch \(latest))", to: OcclusionPage.fileName + "#epoch-\(latest)"),
               .txt(occlusionEpochs.count > 1 ? ", and \(occlusionEpochs.count - 1) earlier ones." : ".")))
    }

    private func audits() -> Content {
        let items: [Node<HTML.ListContext>] = findings.audits.map { a in
            let target = context.layers.first { $0.name == a.layer }
            return .li(target.map { link($0.name, to: ReportFiles.layerPage($0.slug)) } ?? .b(.txt(a.layer)),
                       .txt(": " + a.issue + ". "), .b(.txt("Advice: ")), .txt(a.advice + "."))
        }
        return .section(.id("audits"), .h2(.txt("Architecture audit")),
            items.isEmpty ? .p(.txt("No geometry problems found: every strided conv's kernel is a multiple of its stride, and no stride is 4 or more."))
                          : .ul(.group(items)))
    }

    // MARK: Model and configuration

    private func modelTable() -> Content {
        let head: Node<HTML.TableContext> = .thead(.tr(.th(.txt("#")), .th(.txt("type")), .th(.txt("name")), .th(.txt("detail")),
                                                        .th(.txt("output (C\u{00D7}H\u{00D7}W)")), .th(.class("num"), .txt("receptive field (px)")),
                                                        .th(.class("num"), .txt("jump (px)")), .th(.class("num"), .txt("parameters"))))
        let rows: [Node<HTML.TableContext>] = findings.model.map { row in
            let monitored = row.name.flatMap { name in context.layers.first { $0.name == name } }
            return .tr(.td(.class("num"), .txt("\(row.index)")), .td(.txt(row.type)),
                       .td(monitored.map { link($0.name, to: ReportFiles.layerPage($0.slug)) } ?? .txt(row.name ?? "")),
                       .td(.txt(row.detail)), .td(.class("mono"), .txt(Format.shape(row.outputShape))),
                       .td(.class("num"), .txt("\(row.receptiveField)")), .td(.class("num"), .txt("\(row.jump)")),
                       .td(.class("num"), .txt("\(row.parameters)")))
        }
        let total = findings.model.reduce(0) { $0 + $1.parameters }
        return .section(.id("model"), .h2(.txt("Model")),
            .table(head, .tbody(.group(rows))),
            .p(.class("muted"), .txt("\(total) parameters. Receptive field: the input pixels one output position can see (side length); jump: the distance in input pixels between neighbouring output positions.")))
    }

    private func hyperParameters() -> Content {
        guard let c = findings.configuration else {
            return .section(.id("configuration"), .h2(.txt("Hyper-parameters")),
                            .p(.class("note"), .txt("No run.json was found for this run, so its hyper-parameters are unknown.")))
        }
        var pairs: [(String, String)] = [
            ("model", c.model), ("data", c.data), ("data folder", c.dataDir ?? "default"),
            ("epochs", "\(c.epochs)"), ("batch size", "\(c.batchSize)"),
            ("learning rate", Format.number(c.learningRate, digits: 4)), ("momentum", Format.number(c.momentum, digits: 4)),
            ("weight decay", Format.number(c.weightDecay, digits: 4)),
            ("max filter RMS", c.maxFilterRMS.map { Format.number($0, digits: 4) } ?? "off"),
            ("first conv init std", c.firstConvInitStd.map { Format.number($0, digits: 4) } ?? "He"),
            ("seed", "\(c.seed)"), ("train limit", c.trainLimit.map { "\($0) images" } ?? "all"),
            ("snapshot epochs", c.snapshotEpochs.map(String.init).joined(separator: ", ")),
            ("probes", "\(c.probes)"), ("top k", "\(c.top)"),
            ("input", Format.shape(c.architecture.input)), ("classes", "\(c.architecture.classes)"),
        ]
        if let n = c.architecture.normalization {
            pairs.append(("normalization", "mean " + n.mean.map { Format.number($0, digits: 4) }.joined(separator: ", ")
                          + "; std " + n.std.map { Format.number($0, digits: 4) }.joined(separator: ", ")))
        }
        pairs += [("status", c.status.rawValue), ("created", c.created), ("updated", c.updated)]
        if let message = c.message { pairs.append(("message", message)) }
        let items: [Node<HTML.DescriptionListContext>] = pairs.flatMap { key, value -> [Node<HTML.DescriptionListContext>] in
            [.dt(.txt(key)), .dd(.txt(value))]
        }
        return .section(.id("configuration"), .h2(.txt("Hyper-parameters")), .dl(.class("kv"), .group(items)))
    }

    // MARK: How to read this

    private func howToRead() -> Content {
        let t = findings.thresholds
        let flagItems: [Node<HTML.ListContext>] = FilterFlag.tableOrder.map { flag in
            .li(.span(.class("badge \(flag.rawValue)"), .txt(flag.rawValue)), .txt(" " + flag.rule(t) + "."))
        }
        return .section(.id("howto"), .class("howto"),
            .h2(.txt("How to read this")),
            .p(.txt("The figures follow Zeiler & Fergus, \u{201C}Visualizing and Understanding Convolutional Networks\u{201D} (ECCV 2014). After each snapshot the monitor replays the same \(findings.probes) probe images (the first images of the test split) through the network and, for every feature map of every conv block (after its ReLU and pooling), keeps the \(findings.top) strongest activations: the maximum of the map on each image, the top \(findings.top) images.")),
            .p(.txt("Each of these activations is projected back to input pixels with a deconvnet: all other activations of the layer are set to zero, and going down layer by layer the signal is (i) unpooled with the switches recorded on the way up (each value goes back to where the pooling maximum came from), (ii) rectified with a ReLU, and (iii) filtered with the transposed filters of the conv layer. The result shows which pixels of that image, and in which pattern, caused the activation.")),
            .ul(
                .li(.b(.txt("Fig. 2 view")), .txt(" (a layer's epoch pages): for each feature map the top projections beside the image patches under the same receptive field. Consistent projections across different images mean a clear feature; patches of one class mean a class-specific feature.")),
                .li(.b(.txt("Fig. 4 view")), .txt(" (a layer's page): each feature map's strongest projection at every snapshot, to see when a feature appears and whether it settles.")),
                .li(.b(.txt("Contrast normalization")), .txt(": every projection is cropped to its receptive field box and mapped v \u{2192} 128 + 127\u{00B7}v / max|v| over that crop, all channels sharing one scale. Mid gray is zero, so brightness compares within one tile, not across tiles; an all-zero projection stays mid gray. Image patches show the raw pixels (v\u{00B7}255). First-layer filters are normalized the same way per filter."))),
            .h3(.txt("Flags")),
            .p(.txt("Each snapshot, every feature map is checked against these thresholds (recorded in findings.json). Flagged maps are outlined in the flag's colour in every view, with the numbers behind the flag.")),
            .ul(.group(flagItems)))
    }
}
