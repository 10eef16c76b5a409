#!/usr/bin/env python3
"""Writes Sources/Tensors/TransformKernels.swift: the 1-D Winograd transform kernels, one written-out
function per (outputs, inputs) size, because Swift has no fixed-size generics that would keep the
inputs, coefficients and sums in registers. Run from the repository root:

    python3 docs/generate-transform-kernels.py > Sources/Tensors/TransformKernels.swift
"""

PREFIX = r'''// The 1-D transform kernels behind `transformTile`. transform8x8, transform4x8 and transform8x4
// differ only in their sizes: Swift has no fixed-size generics that would keep the inputs,
// coefficients and sums in registers, so each is written out in full by
// docs/generate-transform-kernels.py (rerun it after changing the pattern).

/// One 1-D transform of `cols` input vectors into `rows` output vectors, `lanes` wide:
/// out_o (+)= Σ_j k[o][j] in_j, for k (8, 8) zero-padded.
///
/// Eight lanes at a time in SIMD registers with fused multiply-adds: every input is loaded once
/// and each output stored once. Missing inputs read input 0 with a zero coefficient and missing
/// outputs go to `sink`, so the body has no branches. Three shapes: 8 x 8 for Bᵀ, B and F(6, 3)'s
/// Aᵀ; 4 x 8 for F(4, 5)'s Aᵀ and 8 x 4 for its A, which would waste half their multiplies as 8 x 8.
/// Measured against a loop per nonzero coefficient (one call per output, 4 vector iterations each
/// at 32 lanes), whose call and loop set-up dominated: the dense form does up to 45% more
/// multiplies in far fewer instructions. (Plain scalar loops over the lanes did not vectorize:
/// 16 pointers are more runtime alias checks than LLVM will emit.)
@inline(__always)
func transform8(_ k: UnsafePointer<Float>, input: UnsafePointer<Float>, inputStride: Int, cols: Int,
                        output: UnsafeMutablePointer<Float>, outputStride: Int, rows: Int,
                        sink: UnsafeMutablePointer<Float>, lanes: Int, accumulate: Bool) {
    if rows <= 4 && cols > 4 {
        transform4x8(k, input: input, inputStride: inputStride, cols: cols, output: output, outputStride: outputStride,
                     rows: rows, sink: sink, lanes: lanes, accumulate: accumulate)
    } else if cols <= 4 && rows > 4 {
        transform8x4(k, input: input, inputStride: inputStride, cols: cols, output: output, outputStride: outputStride,
                     rows: rows, sink: sink, lanes: lanes, accumulate: accumulate)
    } else {
        transform8x8(k, input: input, inputStride: inputStride, cols: cols, output: output, outputStride: outputStride,
                     rows: rows, sink: sink, lanes: lanes, accumulate: accumulate)
    }
}

'''

# SIMD8.load and UnsafeMutablePointer.store come from Sources/Tensors/SIMDHelpers.swift.


def kernel(rows, cols):
    def sums(accumulate, simd):
        lines = []
        for o in range(rows):
            terms = range(0, cols) if accumulate else range(1, cols)
            if simd:
                first = f"V.load(o{o} + c)" if accumulate else f"(k{o}0 * d0)"
                expr = first + "".join(f".plusProduct(k{o}{j}, d{j})" for j in terms)
                lines.append(f"            (o{o} + c).store({expr})")
            else:
                first = f"o{o}[c]" if accumulate else f"(k[{o * 8}] * d0)"
                expr = first + "".join(f".plusProduct(k[{o * 8 + j}], d{j})" for j in terms)
                lines.append(f"            o{o}[c] = {expr}")
        return "\n".join(lines)

    inputs = "    let " + ", ".join(f"i{j} = input + (cols > {j} ? {j} * inputStride : 0)" for j in range(cols))
    outputs = "    let " + ", ".join(f"o{o} = rows > {o} ? output + {o} * outputStride : sink" for o in range(rows))
    coefficients = "\n".join("    let " + ", ".join(f"k{o}{j} = V(repeating: k[{o * 8 + j}])" for j in range(cols)) for o in range(rows))
    vector_loads = "\n".join(f"        let d{j} = V.load(i{j} + c)" for j in range(cols))
    scalar_loads = "\n".join(f"        let d{j} = i{j}[c]" for j in range(cols))
    return f"""@inline(__always)
private func transform{rows}x{cols}(_ k: UnsafePointer<Float>, input: UnsafePointer<Float>, inputStride: Int, cols: Int,
                        output: UnsafeMutablePointer<Float>, outputStride: Int, rows: Int,
                        sink: UnsafeMutablePointer<Float>, lanes: Int, accumulate: Bool) {{
    typealias V = SIMD8<Float>
{inputs}
{outputs}
{coefficients}
    var c = 0
    while c + 8 <= lanes {{
{vector_loads}
        if accumulate {{
{sums(True, True)}
        }} else {{
{sums(False, True)}
        }}
        c += 8
    }}
    while c < lanes {{
{scalar_loads}
        if accumulate {{
{sums(True, False)}
        }} else {{
{sums(False, False)}
        }}
        c += 1
    }}
}}
"""


print(PREFIX + "\n".join(kernel(r, c) for r, c in [(8, 8), (4, 8), (8, 4)]), end="")
