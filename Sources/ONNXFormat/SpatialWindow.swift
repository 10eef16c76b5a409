/// The square kernel, stride and symmetric padding of a Conv, MaxPool or AveragePool node, in the one-int
/// form the model JSON has (`kernel`, `stride`, `padding`), with the output size it gives.
struct SpatialWindow: Equatable {
    var kernel: Int
    var stride: Int
    var padding: Int

    /// Output size along one axis: floor((n + 2p - k) / s) + 1 (ceil_mode 0, PyTorch's and ONNX's default).
    func output(_ n: Int) -> Int? {
        let span = n + 2 * padding - kernel
        return span < 0 ? nil : span / stride + 1
    }

    /// Reads kernel_shape (or the weight's kernel), strides, pads / auto_pad and dilations of `node` for an
    /// input of `height` x `width`, refusing what one square kernel with symmetric padding cannot say.
    static func read(_ node: NodeView, height: Int, width: Int, weightKernel: [Int]? = nil) throws -> SpatialWindow {
        let limit = 1 << 16
        func pair(_ name: String, _ values: [Int64]?, default value: Int) throws -> Int {
            guard let values else { return value }
            guard values.count == 2, values.allSatisfy({ $0 >= 0 && $0 <= limit }) else {
                throw node.problem("\(name) \(values) is not two sizes for height and width (only 2-D NCHW is supported)")
            }
            guard values[0] == values[1] else {
                throw node.problem("\(name) \(values) differs between height and width (the model JSON has one square \(name == "strides" ? "stride" : "kernel"))")
            }
            return Int(values[0])
        }
        let declared = try node.ints("kernel_shape")
        let kernel: Int
        if let weightKernel {
            guard weightKernel.count == 2, weightKernel[0] == weightKernel[1] else {
                throw node.problem("kernel \(weightKernel) is not square (the model JSON has one square kernel)")
            }
            kernel = weightKernel[0]
            if let declared, declared.map({ Int($0) }) != weightKernel {
                throw node.problem("kernel_shape \(declared) does not match the weight's kernel \(weightKernel)")
            }
        } else {
            guard declared != nil else { throw node.problem("kernel_shape is missing") }
            kernel = try pair("kernel_shape", declared, default: 1)
        }
        let stride = try pair("strides", try node.ints("strides"), default: 1)
        guard kernel >= 1, stride >= 1 else { throw node.problem("kernel \(kernel) and stride \(stride) must be at least 1") }
        if let dilations = try node.ints("dilations"), !dilations.allSatisfy({ $0 == 1 }) {
            throw node.problem("dilations \(dilations) are not supported (only 1)")
        }

        let autoPad = try node.string("auto_pad", default: "NOTSET")
        let padding: Int
        switch autoPad {
        case "NOTSET", "":
            let pads = try node.ints("pads") ?? [0, 0, 0, 0]
            guard pads.count == 4, pads.allSatisfy({ $0 >= 0 && $0 <= limit }) else {
                throw node.problem("pads \(pads) are not four sizes (top, left, bottom, right)")
            }
            guard Set(pads).count == 1 else {
                throw node.problem("pads \(pads) are not the same on all four sides (the model JSON has one symmetric padding)")
            }
            padding = Int(pads[0])
        case "VALID":
            padding = 0
        case "SAME_UPPER", "SAME_LOWER":
            // Total padding so the output is ceil(n / s); symmetric only when the total is even.
            let totals = [height, width].map { n in max(((n + stride - 1) / stride - 1) * stride + kernel - n, 0) }
            guard totals[0] == totals[1], totals[0] % 2 == 0 else {
                throw node.problem("auto_pad \(autoPad) needs padding \(totals) (height, width) here, which is not one symmetric padding")
            }
            padding = totals[0] / 2
        default:
            throw node.problem("auto_pad \(NodeView.printable(autoPad)) is not supported")
        }
        let window = SpatialWindow(kernel: kernel, stride: stride, padding: padding)
        guard window.output(height) != nil, window.output(width) != nil else {
            throw node.problem("kernel \(kernel) is larger than the padded input \(height + 2 * padding)x\(width + 2 * padding)")
        }
        return window
    }
}
