// The 1-D transform kernels behind `transformTile`. transform8x8, transform4x8 and transform8x4
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

@inline(__always)
private func transform8x8(_ k: UnsafePointer<Float>, input: UnsafePointer<Float>, inputStride: Int, cols: Int,
                        output: UnsafeMutablePointer<Float>, outputStride: Int, rows: Int,
                        sink: UnsafeMutablePointer<Float>, lanes: Int, accumulate: Bool) {
    typealias V = SIMD8<Float>
    let i0 = input + (cols > 0 ? 0 * inputStride : 0), i1 = input + (cols > 1 ? 1 * inputStride : 0), i2 = input + (cols > 2 ? 2 * inputStride : 0), i3 = input + (cols > 3 ? 3 * inputStride : 0), i4 = input + (cols > 4 ? 4 * inputStride : 0), i5 = input + (cols > 5 ? 5 * inputStride : 0), i6 = input + (cols > 6 ? 6 * inputStride : 0), i7 = input + (cols > 7 ? 7 * inputStride : 0)
    let o0 = rows > 0 ? output + 0 * outputStride : sink, o1 = rows > 1 ? output + 1 * outputStride : sink, o2 = rows > 2 ? output + 2 * outputStride : sink, o3 = rows > 3 ? output + 3 * outputStride : sink, o4 = rows > 4 ? output + 4 * outputStride : sink, o5 = rows > 5 ? output + 5 * outputStride : sink, o6 = rows > 6 ? output + 6 * outputStride : sink, o7 = rows > 7 ? output + 7 * outputStride : sink
    let k00 = V(repeating: k[0]), k01 = V(repeating: k[1]), k02 = V(repeating: k[2]), k03 = V(repeating: k[3]), k04 = V(repeating: k[4]), k05 = V(repeating: k[5]), k06 = V(repeating: k[6]), k07 = V(repeating: k[7])
    let k10 = V(repeating: k[8]), k11 = V(repeating: k[9]), k12 = V(repeating: k[10]), k13 = V(repeating: k[11]), k14 = V(repeating: k[12]), k15 = V(repeating: k[13]), k16 = V(repeating: k[14]), k17 = V(repeating: k[15])
    let k20 = V(repeating: k[16]), k21 = V(repeating: k[17]), k22 = V(repeating: k[18]), k23 = V(repeating: k[19]), k24 = V(repeating: k[20]), k25 = V(repeating: k[21]), k26 = V(repeating: k[22]), k27 = V(repeating: k[23])
    let k30 = V(repeating: k[24]), k31 = V(repeating: k[25]), k32 = V(repeating: k[26]), k33 = V(repeating: k[27]), k34 = V(repeating: k[28]), k35 = V(repeating: k[29]), k36 = V(repeating: k[30]), k37 = V(repeating: k[31])
    let k40 = V(repeating: k[32]), k41 = V(repeating: k[33]), k42 = V(repeating: k[34]), k43 = V(repeating: k[35]), k44 = V(repeating: k[36]), k45 = V(repeating: k[37]), k46 = V(repeating: k[38]), k47 = V(repeating: k[39])
    let k50 = V(repeating: k[40]), k51 = V(repeating: k[41]), k52 = V(repeating: k[42]), k53 = V(repeating: k[43]), k54 = V(repeating: k[44]), k55 = V(repeating: k[45]), k56 = V(repeating: k[46]), k57 = V(repeating: k[47])
    let k60 = V(repeating: k[48]), k61 = V(repeating: k[49]), k62 = V(repeating: k[50]), k63 = V(repeating: k[51]), k64 = V(repeating: k[52]), k65 = V(repeating: k[53]), k66 = V(repeating: k[54]), k67 = V(repeating: k[55])
    let k70 = V(repeating: k[56]), k71 = V(repeating: k[57]), k72 = V(repeating: k[58]), k73 = V(repeating: k[59]), k74 = V(repeating: k[60]), k75 = V(repeating: k[61]), k76 = V(repeating: k[62]), k77 = V(repeating: k[63])
    var c = 0
    while c + 8 <= lanes {
        let d0 = V.load(i0 + c)
        let d1 = V.load(i1 + c)
        let d2 = V.load(i2 + c)
        let d3 = V.load(i3 + c)
        let d4 = V.load(i4 + c)
        let d5 = V.load(i5 + c)
        let d6 = V.load(i6 + c)
        let d7 = V.load(i7 + c)
        if accumulate {
            (o0 + c).store(V.load(o0 + c).plusProduct(k00, d0).plusProduct(k01, d1).plusProduct(k02, d2).plusProduct(k03, d3).plusProduct(k04, d4).plusProduct(k05, d5).plusProduct(k06, d6).plusProduct(k07, d7))
            (o1 + c).store(V.load(o1 + c).plusProduct(k10, d0).plusProduct(k11, d1).plusProduct(k12, d2).plusProduct(k13, d3).plusProduct(k14, d4).plusProduct(k15, d5).plusProduct(k16, d6).plusProduct(k17, d7))
            (o2 + c).store(V.load(o2 + c).plusProduct(k20, d0).plusProduct(k21, d1).plusProduct(k22, d2).plusProduct(k23, d3).plusProduct(k24, d4).plusProduct(k25, d5).plusProduct(k26, d6).plusProduct(k27, d7))
            (o3 + c).store(V.load(o3 + c).plusProduct(k30, d0).plusProduct(k31, d1).plusProduct(k32, d2).plusProduct(k33, d3).plusProduct(k34, d4).plusProduct(k35, d5).plusProduct(k36, d6).plusProduct(k37, d7))
            (o4 + c).store(V.load(o4 + c).plusProduct(k40, d0).plusProduct(k41, d1).plusProduct(k42, d2).plusProduct(k43, d3).plusProduct(k44, d4).plusProduct(k45, d5).plusProduct(k46, d6).plusProduct(k47, d7))
            (o5 + c).store(V.load(o5 + c).plusProduct(k50, d0).plusProduct(k51, d1).plusProduct(k52, d2).plusProduct(k53, d3).plusProduct(k54, d4).plusProduct(k55, d5).plusProduct(k56, d6).plusProduct(k57, d7))
            (o6 + c).store(V.load(o6 + c).plusProduct(k60, d0).plusProduct(k61, d1).plusProduct(k62, d2).plusProduct(k63, d3).plusProduct(k64, d4).plusProduct(k65, d5).plusProduct(k66, d6).plusProduct(k67, d7))
            (o7 + c).store(V.load(o7 + c).plusProduct(k70, d0).plusProduct(k71, d1).plusProduct(k72, d2).plusProduct(k73, d3).plusProduct(k74, d4).plusProduct(k75, d5).plusProduct(k76, d6).plusProduct(k77, d7))
        } else {
            (o0 + c).store((k00 * d0).plusProduct(k01, d1).plusProduct(k02, d2).plusProduct(k03, d3).plusProduct(k04, d4).plusProduct(k05, d5).plusProduct(k06, d6).plusProduct(k07, d7))
            (o1 + c).store((k10 * d0).plusProduct(k11, d1).plusProduct(k12, d2).plusProduct(k13, d3).plusProduct(k14, d4).plusProduct(k15, d5).plusProduct(k16, d6).plusProduct(k17, d7))
            (o2 + c).store((k20 * d0).plusProduct(k21, d1).plusProduct(k22, d2).plusProduct(k23, d3).plusProduct(k24, d4).plusProduct(k25, d5).plusProduct(k26, d6).plusProduct(k27, d7))
            (o3 + c).store((k30 * d0).plusProduct(k31, d1).plusProduct(k32, d2).plusProduct(k33, d3).plusProduct(k34, d4).plusProduct(k35, d5).plusProduct(k36, d6).plusProduct(k37, d7))
            (o4 + c).store((k40 * d0).plusProduct(k41, d1).plusProduct(k42, d2).plusProduct(k43, d3).plusProduct(k44, d4).plusProduct(k45, d5).plusProduct(k46, d6).plusProduct(k47, d7))
            (o5 + c).store((k50 * d0).plusProduct(k51, d1).plusProduct(k52, d2).plusProduct(k53, d3).plusProduct(k54, d4).plusProduct(k55, d5).plusProduct(k56, d6).plusProduct(k57, d7))
            (o6 + c).store((k60 * d0).plusProduct(k61, d1).plusProduct(k62, d2).plusProduct(k63, d3).plusProduct(k64, d4).plusProduct(k65, d5).plusProduct(k66, d6).plusProduct(k67, d7))
            (o7 + c).store((k70 * d0).plusProduct(k71, d1).plusProduct(k72, d2).plusProduct(k73, d3).plusProduct(k74, d4).plusProduct(k75, d5).plusProduct(k76, d6).plusProduct(k77, d7))
        }
        c += 8
    }
    while c < lanes {
        let d0 = i0[c]
        let d1 = i1[c]
        let d2 = i2[c]
        let d3 = i3[c]
        let d4 = i4[c]
        let d5 = i5[c]
        let d6 = i6[c]
        let d7 = i7[c]
        if accumulate {
            o0[c] = o0[c].plusProduct(k[0], d0).plusProduct(k[1], d1).plusProduct(k[2], d2).plusProduct(k[3], d3).plusProduct(k[4], d4).plusProduct(k[5], d5).plusProduct(k[6], d6).plusProduct(k[7], d7)
            o1[c] = o1[c].plusProduct(k[8], d0).plusProduct(k[9], d1).plusProduct(k[10], d2).plusProduct(k[11], d3).plusProduct(k[12], d4).plusProduct(k[13], d5).plusProduct(k[14], d6).plusProduct(k[15], d7)
            o2[c] = o2[c].plusProduct(k[16], d0).plusProduct(k[17], d1).plusProduct(k[18], d2).plusProduct(k[19], d3).plusProduct(k[20], d4).plusProduct(k[21], d5).plusProduct(k[22], d6).plusProduct(k[23], d7)
            o3[c] = o3[c].plusProduct(k[24], d0).plusProduct(k[25], d1).plusProduct(k[26], d2).plusProduct(k[27], d3).plusProduct(k[28], d4).plusProduct(k[29], d5).plusProduct(k[30], d6).plusProduct(k[31], d7)
            o4[c] = o4[c].plusProduct(k[32], d0).plusProduct(k[33], d1).plusProduct(k[34], d2).plusProduct(k[35], d3).plusProduct(k[36], d4).plusProduct(k[37], d5).plusProduct(k[38], d6).plusProduct(k[39], d7)
            o5[c] = o5[c].plusProduct(k[40], d0).plusProduct(k[41], d1).plusProduct(k[42], d2).plusProduct(k[43], d3).plusProduct(k[44], d4).plusProduct(k[45], d5).plusProduct(k[46], d6).plusProduct(k[47], d7)
            o6[c] = o6[c].plusProduct(k[48], d0).plusProduct(k[49], d1).plusProduct(k[50], d2).plusProduct(k[51], d3).plusProduct(k[52], d4).plusProduct(k[53], d5).plusProduct(k[54], d6).plusProduct(k[55], d7)
            o7[c] = o7[c].plusProduct(k[56], d0).plusProduct(k[57], d1).plusProduct(k[58], d2).plusProduct(k[59], d3).plusProduct(k[60], d4).plusProduct(k[61], d5).plusProduct(k[62], d6).plusProduct(k[63], d7)
        } else {
            o0[c] = (k[0] * d0).plusProduct(k[1], d1).plusProduct(k[2], d2).plusProduct(k[3], d3).plusProduct(k[4], d4).plusProduct(k[5], d5).plusProduct(k[6], d6).plusProduct(k[7], d7)
            o1[c] = (k[8] * d0).plusProduct(k[9], d1).plusProduct(k[10], d2).plusProduct(k[11], d3).plusProduct(k[12], d4).plusProduct(k[13], d5).plusProduct(k[14], d6).plusProduct(k[15], d7)
            o2[c] = (k[16] * d0).plusProduct(k[17], d1).plusProduct(k[18], d2).plusProduct(k[19], d3).plusProduct(k[20], d4).plusProduct(k[21], d5).plusProduct(k[22], d6).plusProduct(k[23], d7)
            o3[c] = (k[24] * d0).plusProduct(k[25], d1).plusProduct(k[26], d2).plusProduct(k[27], d3).plusProduct(k[28], d4).plusProduct(k[29], d5).plusProduct(k[30], d6).plusProduct(k[31], d7)
            o4[c] = (k[32] * d0).plusProduct(k[33], d1).plusProduct(k[34], d2).plusProduct(k[35], d3).plusProduct(k[36], d4).plusProduct(k[37], d5).plusProduct(k[38], d6).plusProduct(k[39], d7)
            o5[c] = (k[40] * d0).plusProduct(k[41], d1).plusProduct(k[42], d2).plusProduct(k[43], d3).plusProduct(k[44], d4).plusProduct(k[45], d5).plusProduct(k[46], d6).plusProduct(k[47], d7)
            o6[c] = (k[48] * d0).plusProduct(k[49], d1).plusProduct(k[50], d2).plusProduct(k[51], d3).plusProduct(k[52], d4).plusProduct(k[53], d5).plusProduct(k[54], d6).plusProduct(k[55], d7)
            o7[c] = (k[56] * d0).plusProduct(k[57], d1).plusProduct(k[58], d2).plusProduct(k[59], d3).plusProduct(k[60], d4).plusProduct(k[61], d5).plusProduct(k[62], d6).plusProduct(k[63], d7)
        }
        c += 1
    }
}

@inline(__always)
private func transform4x8(_ k: UnsafePointer<Float>, input: UnsafePointer<Float>, inputStride: Int, cols: Int,
                        output: UnsafeMutablePointer<Float>, outputStride: Int, rows: Int,
                        sink: UnsafeMutablePointer<Float>, lanes: Int, accumulate: Bool) {
    typealias V = SIMD8<Float>
    let i0 = input + (cols > 0 ? 0 * inputStride : 0), i1 = input + (cols > 1 ? 1 * inputStride : 0), i2 = input + (cols > 2 ? 2 * inputStride : 0), i3 = input + (cols > 3 ? 3 * inputStride : 0), i4 = input + (cols > 4 ? 4 * inputStride : 0), i5 = input + (cols > 5 ? 5 * inputStride : 0), i6 = input + (cols > 6 ? 6 * inputStride : 0), i7 = input + (cols > 7 ? 7 * inputStride : 0)
    let o0 = rows > 0 ? output + 0 * outputStride : sink, o1 = rows > 1 ? output + 1 * outputStride : sink, o2 = rows > 2 ? output + 2 * outputStride : sink, o3 = rows > 3 ? output + 3 * outputStride : sink
    let k00 = V(repeating: k[0]), k01 = V(repeating: k[1]), k02 = V(repeating: k[2]), k03 = V(repeating: k[3]), k04 = V(repeating: k[4]), k05 = V(repeating: k[5]), k06 = V(repeating: k[6]), k07 = V(repeating: k[7])
    let k10 = V(repeating: k[8]), k11 = V(repeating: k[9]), k12 = V(repeating: k[10]), k13 = V(repeating: k[11]), k14 = V(repeating: k[12]), k15 = V(repeating: k[13]), k16 = V(repeating: k[14]), k17 = V(repeating: k[15])
    let k20 = V(repeating: k[16]), k21 = V(repeating: k[17]), k22 = V(repeating: k[18]), k23 = V(repeating: k[19]), k24 = V(repeating: k[20]), k25 = V(repeating: k[21]), k26 = V(repeating: k[22]), k27 = V(repeating: k[23])
    let k30 = V(repeating: k[24]), k31 = V(repeating: k[25]), k32 = V(repeating: k[26]), k33 = V(repeating: k[27]), k34 = V(repeating: k[28]), k35 = V(repeating: k[29]), k36 = V(repeating: k[30]), k37 = V(repeating: k[31])
    var c = 0
    while c + 8 <= lanes {
        let d0 = V.load(i0 + c)
        let d1 = V.load(i1 + c)
        let d2 = V.load(i2 + c)
        let d3 = V.load(i3 + c)
        let d4 = V.load(i4 + c)
        let d5 = V.load(i5 + c)
        let d6 = V.load(i6 + c)
        let d7 = V.load(i7 + c)
        if accumulate {
            (o0 + c).store(V.load(o0 + c).plusProduct(k00, d0).plusProduct(k01, d1).plusProduct(k02, d2).plusProduct(k03, d3).plusProduct(k04, d4).plusProduct(k05, d5).plusProduct(k06, d6).plusProduct(k07, d7))
            (o1 + c).store(V.load(o1 + c).plusProduct(k10, d0).plusProduct(k11, d1).plusProduct(k12, d2).plusProduct(k13, d3).plusProduct(k14, d4).plusProduct(k15, d5).plusProduct(k16, d6).plusProduct(k17, d7))
            (o2 + c).store(V.load(o2 + c).plusProduct(k20, d0).plusProduct(k21, d1).plusProduct(k22, d2).plusProduct(k23, d3).plusProduct(k24, d4).plusProduct(k25, d5).plusProduct(k26, d6).plusProduct(k27, d7))
            (o3 + c).store(V.load(o3 + c).plusProduct(k30, d0).plusProduct(k31, d1).plusProduct(k32, d2).plusProduct(k33, d3).plusProduct(k34, d4).plusProduct(k35, d5).plusProduct(k36, d6).plusProduct(k37, d7))
        } else {
            (o0 + c).store((k00 * d0).plusProduct(k01, d1).plusProduct(k02, d2).plusProduct(k03, d3).plusProduct(k04, d4).plusProduct(k05, d5).plusProduct(k06, d6).plusProduct(k07, d7))
            (o1 + c).store((k10 * d0).plusProduct(k11, d1).plusProduct(k12, d2).plusProduct(k13, d3).plusProduct(k14, d4).plusProduct(k15, d5).plusProduct(k16, d6).plusProduct(k17, d7))
            (o2 + c).store((k20 * d0).plusProduct(k21, d1).plusProduct(k22, d2).plusProduct(k23, d3).plusProduct(k24, d4).plusProduct(k25, d5).plusProduct(k26, d6).plusProduct(k27, d7))
            (o3 + c).store((k30 * d0).plusProduct(k31, d1).plusProduct(k32, d2).plusProduct(k33, d3).plusProduct(k34, d4).plusProduct(k35, d5).plusProduct(k36, d6).plusProduct(k37, d7))
        }
        c += 8
    }
    while c < lanes {
        let d0 = i0[c]
        let d1 = i1[c]
        let d2 = i2[c]
        let d3 = i3[c]
        let d4 = i4[c]
        let d5 = i5[c]
        let d6 = i6[c]
        let d7 = i7[c]
        if accumulate {
            o0[c] = o0[c].plusProduct(k[0], d0).plusProduct(k[1], d1).plusProduct(k[2], d2).plusProduct(k[3], d3).plusProduct(k[4], d4).plusProduct(k[5], d5).plusProduct(k[6], d6).plusProduct(k[7], d7)
            o1[c] = o1[c].plusProduct(k[8], d0).plusProduct(k[9], d1).plusProduct(k[10], d2).plusProduct(k[11], d3).plusProduct(k[12], d4).plusProduct(k[13], d5).plusProduct(k[14], d6).plusProduct(k[15], d7)
            o2[c] = o2[c].plusProduct(k[16], d0).plusProduct(k[17], d1).plusProduct(k[18], d2).plusProduct(k[19], d3).plusProduct(k[20], d4).plusProduct(k[21], d5).plusProduct(k[22], d6).plusProduct(k[23], d7)
            o3[c] = o3[c].plusProduct(k[24], d0).plusProduct(k[25], d1).plusProduct(k[26], d2).plusProduct(k[27], d3).plusProduct(k[28], d4).plusProduct(k[29], d5).plusProduct(k[30], d6).plusProduct(k[31], d7)
        } else {
            o0[c] = (k[0] * d0).plusProduct(k[1], d1).plusProduct(k[2], d2).plusProduct(k[3], d3).plusProduct(k[4], d4).plusProduct(k[5], d5).plusProduct(k[6], d6).plusProduct(k[7], d7)
            o1[c] = (k[8] * d0).plusProduct(k[9], d1).plusProduct(k[10], d2).plusProduct(k[11], d3).plusProduct(k[12], d4).plusProduct(k[13], d5).plusProduct(k[14], d6).plusProduct(k[15], d7)
            o2[c] = (k[16] * d0).plusProduct(k[17], d1).plusProduct(k[18], d2).plusProduct(k[19], d3).plusProduct(k[20], d4).plusProduct(k[21], d5).plusProduct(k[22], d6).plusProduct(k[23], d7)
            o3[c] = (k[24] * d0).plusProduct(k[25], d1).plusProduct(k[26], d2).plusProduct(k[27], d3).plusProduct(k[28], d4).plusProduct(k[29], d5).plusProduct(k[30], d6).plusProduct(k[31], d7)
        }
        c += 1
    }
}

@inline(__always)
private func transform8x4(_ k: UnsafePointer<Float>, input: UnsafePointer<Float>, inputStride: Int, cols: Int,
                        output: UnsafeMutablePointer<Float>, outputStride: Int, rows: Int,
                        sink: UnsafeMutablePointer<Float>, lanes: Int, accumulate: Bool) {
    typealias V = SIMD8<Float>
    let i0 = input + (cols > 0 ? 0 * inputStride : 0), i1 = input + (cols > 1 ? 1 * inputStride : 0), i2 = input + (cols > 2 ? 2 * inputStride : 0), i3 = input + (cols > 3 ? 3 * inputStride : 0)
    let o0 = rows > 0 ? output + 0 * outputStride : sink, o1 = rows > 1 ? output + 1 * outputStride : sink, o2 = rows > 2 ? output + 2 * outputStride : sink, o3 = rows > 3 ? output + 3 * outputStride : sink, o4 = rows > 4 ? output + 4 * outputStride : sink, o5 = rows > 5 ? output + 5 * outputStride : sink, o6 = rows > 6 ? output + 6 * outputStride : sink, o7 = rows > 7 ? output + 7 * outputStride : sink
    let k00 = V(repeating: k[0]), k01 = V(repeating: k[1]), k02 = V(repeating: k[2]), k03 = V(repeating: k[3])
    let k10 = V(repeating: k[8]), k11 = V(repeating: k[9]), k12 = V(repeating: k[10]), k13 = V(repeating: k[11])
    let k20 = V(repeating: k[16]), k21 = V(repeating: k[17]), k22 = V(repeating: k[18]), k23 = V(repeating: k[19])
    let k30 = V(repeating: k[24]), k31 = V(repeating: k[25]), k32 = V(repeating: k[26]), k33 = V(repeating: k[27])
    let k40 = V(repeating: k[32]), k41 = V(repeating: k[33]), k42 = V(repeating: k[34]), k43 = V(repeating: k[35])
    let k50 = V(repeating: k[40]), k51 = V(repeating: k[41]), k52 = V(repeating: k[42]), k53 = V(repeating: k[43])
    let k60 = V(repeating: k[48]), k61 = V(repeating: k[49]), k62 = V(repeating: k[50]), k63 = V(repeating: k[51])
    let k70 = V(repeating: k[56]), k71 = V(repeating: k[57]), k72 = V(repeating: k[58]), k73 = V(repeating: k[59])
    var c = 0
    while c + 8 <= lanes {
        let d0 = V.load(i0 + c)
        let d1 = V.load(i1 + c)
        let d2 = V.load(i2 + c)
        let d3 = V.load(i3 + c)
        if accumulate {
            (o0 + c).store(V.load(o0 + c).plusProduct(k00, d0).plusProduct(k01, d1).plusProduct(k02, d2).plusProduct(k03, d3))
            (o1 + c).store(V.load(o1 + c).plusProduct(k10, d0).plusProduct(k11, d1).plusProduct(k12, d2).plusProduct(k13, d3))
            (o2 + c).store(V.load(o2 + c).plusProduct(k20, d0).plusProduct(k21, d1).plusProduct(k22, d2).plusProduct(k23, d3))
            (o3 + c).store(V.load(o3 + c).plusProduct(k30, d0).plusProduct(k31, d1).plusProduct(k32, d2).plusProduct(k33, d3))
            (o4 + c).store(V.load(o4 + c).plusProduct(k40, d0).plusProduct(k41, d1).plusProduct(k42, d2).plusProduct(k43, d3))
            (o5 + c).store(V.load(o5 + c).plusProduct(k50, d0).plusProduct(k51, d1).plusProduct(k52, d2).plusProduct(k53, d3))
            (o6 + c).store(V.load(o6 + c).plusProduct(k60, d0).plusProduct(k61, d1).plusProduct(k62, d2).plusProduct(k63, d3))
            (o7 + c).store(V.load(o7 + c).plusProduct(k70, d0).plusProduct(k71, d1).plusProduct(k72, d2).plusProduct(k73, d3))
        } else {
            (o0 + c).store((k00 * d0).plusProduct(k01, d1).plusProduct(k02, d2).plusProduct(k03, d3))
            (o1 + c).store((k10 * d0).plusProduct(k11, d1).plusProduct(k12, d2).plusProduct(k13, d3))
            (o2 + c).store((k20 * d0).plusProduct(k21, d1).plusProduct(k22, d2).plusProduct(k23, d3))
            (o3 + c).store((k30 * d0).plusProduct(k31, d1).plusProduct(k32, d2).plusProduct(k33, d3))
            (o4 + c).store((k40 * d0).plusProduct(k41, d1).plusProduct(k42, d2).plusProduct(k43, d3))
            (o5 + c).store((k50 * d0).plusProduct(k51, d1).plusProduct(k52, d2).plusProduct(k53, d3))
            (o6 + c).store((k60 * d0).plusProduct(k61, d1).plusProduct(k62, d2).plusProduct(k63, d3))
            (o7 + c).store((k70 * d0).plusProduct(k71, d1).plusProduct(k72, d2).plusProduct(k73, d3))
        }
        c += 8
    }
    while c < lanes {
        let d0 = i0[c]
        let d1 = i1[c]
        let d2 = i2[c]
        let d3 = i3[c]
        if accumulate {
            o0[c] = o0[c].plusProduct(k[0], d0).plusProduct(k[1], d1).plusProduct(k[2], d2).plusProduct(k[3], d3)
            o1[c] = o1[c].plusProduct(k[8], d0).plusProduct(k[9], d1).plusProduct(k[10], d2).plusProduct(k[11], d3)
            o2[c] = o2[c].plusProduct(k[16], d0).plusProduct(k[17], d1).plusProduct(k[18], d2).plusProduct(k[19], d3)
            o3[c] = o3[c].plusProduct(k[24], d0).plusProduct(k[25], d1).plusProduct(k[26], d2).plusProduct(k[27], d3)
            o4[c] = o4[c].plusProduct(k[32], d0).plusProduct(k[33], d1).plusProduct(k[34], d2).plusProduct(k[35], d3)
            o5[c] = o5[c].plusProduct(k[40], d0).plusProduct(k[41], d1).plusProduct(k[42], d2).plusProduct(k[43], d3)
            o6[c] = o6[c].plusProduct(k[48], d0).plusProduct(k[49], d1).plusProduct(k[50], d2).plusProduct(k[51], d3)
            o7[c] = o7[c].plusProduct(k[56], d0).plusProduct(k[57], d1).plusProduct(k[58], d2).plusProduct(k[59], d3)
        } else {
            o0[c] = (k[0] * d0).plusProduct(k[1], d1).plusProduct(k[2], d2).plusProduct(k[3], d3)
            o1[c] = (k[8] * d0).plusProduct(k[9], d1).plusProduct(k[10], d2).plusProduct(k[11], d3)
            o2[c] = (k[16] * d0).plusProduct(k[17], d1).plusProduct(k[18], d2).plusProduct(k[19], d3)
            o3[c] = (k[24] * d0).plusProduct(k[25], d1).plusProduct(k[26], d2).plusProduct(k[27], d3)
            o4[c] = (k[32] * d0).plusProduct(k[33], d1).plusProduct(k[34], d2).plusProduct(k[35], d3)
            o5[c] = (k[40] * d0).plusProduct(k[41], d1).plusProduct(k[42], d2).plusProduct(k[43], d3)
            o6[c] = (k[48] * d0).plusProduct(k[49], d1).plusProduct(k[50], d2).plusProduct(k[51], d3)
            o7[c] = (k[56] * d0).plusProduct(k[57], d1).plusProduct(k[58], d2).plusProduct(k[59], d3)
        }
        c += 1
    }
}
