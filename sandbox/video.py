"""A tiny H.264-in-MP4 writer in pure Python, so sandbox videos play in any browser.

No encoder is available at run time, so frames are stored uncompressed: every macroblock of
the first frame is I_PCM (raw samples, allowed by the Baseline profile), and later frames
code only the macroblocks that changed (as I_PCM) and skip the rest (P_Skip copies them from
the previous frame). An animation that moves a small part of the picture therefore costs a
few kilobytes per frame. The stream is wrapped in a standard `avc1` MP4 with the index
(`moov`) first, so playback can start before the download finishes.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable

from PIL import Image

MB = 16
# ue(v) mb_type of I_PCM: 25 in an I slice, 5 + 25 in a P slice.
_I_PCM_IN_I = 25
_I_PCM_IN_P = 30
_LOG2_MAX_FRAME_NUM = 4
_LUMA_RANGE = [16 + value * 219 // 255 for value in range(256)]
_CHROMA_RANGE = [128 + (value - 128) * 224 // 255 for value in range(256)]


class _Bits:
    """An RBSP bit writer."""

    def __init__(self) -> None:
        self.data = bytearray()
        self._acc = 0
        self._count = 0

    def u(self, bits: int, value: int) -> None:
        for shift in range(bits - 1, -1, -1):
            self._acc = (self._acc << 1) | ((value >> shift) & 1)
            self._count += 1
            if self._count == 8:
                self.data.append(self._acc)
                self._acc = 0
                self._count = 0

    def ue(self, value: int) -> None:
        code = value + 1
        length = code.bit_length()
        self.u(length - 1, 0)
        self.u(length, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align_zero(self) -> None:
        while self._count:
            self.u(1, 0)

    def raw(self, payload: bytes) -> None:
        assert self._count == 0, "raw bytes must be byte-aligned"
        self.data += payload

    def trailing(self) -> bytes:
        self.u(1, 1)
        self.align_zero()
        return bytes(self.data)


# A 0x000000..0x000003 sequence inside a NAL must be broken by an emulation prevention
# byte. Non-overlapping matching is exactly right: the inserted 0x03 resets the zero count.
_EMULATION = re.compile(rb"\x00\x00(?=[\x00-\x03])")


def _nal(ref_idc: int, unit_type: int, rbsp: bytes) -> bytes:
    return bytes([(ref_idc << 5) | unit_type]) + _EMULATION.sub(b"\x00\x00\x03", rbsp)


def _sps(width_mbs: int, height_mbs: int) -> bytes:
    bits = _Bits()
    bits.u(8, 66)  # profile_idc: Baseline
    bits.u(8, 0xC0)  # constraint_set0 and set1: Constrained Baseline
    bits.u(8, 30)  # level_idc 3.0
    bits.ue(0)  # seq_parameter_set_id
    bits.ue(_LOG2_MAX_FRAME_NUM - 4)
    bits.ue(2)  # pic_order_cnt_type 2: output order = decode order, no B frames
    bits.ue(1)  # max_num_ref_frames
    bits.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    bits.ue(width_mbs - 1)
    bits.ue(height_mbs - 1)
    bits.u(1, 1)  # frame_mbs_only_flag
    bits.u(1, 1)  # direct_8x8_inference_flag
    bits.u(1, 0)  # frame_cropping_flag
    bits.u(1, 0)  # vui_parameters_present_flag
    return _nal(3, 7, bits.trailing())


def _pps() -> bytes:
    bits = _Bits()
    bits.ue(0)  # pic_parameter_set_id
    bits.ue(0)  # seq_parameter_set_id
    bits.u(1, 0)  # entropy_coding_mode_flag: CAVLC
    bits.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
    bits.ue(0)  # num_slice_groups_minus1
    bits.ue(0)  # num_ref_idx_l0_default_active_minus1
    bits.ue(0)  # num_ref_idx_l1_default_active_minus1
    bits.u(1, 0)  # weighted_pred_flag
    bits.u(2, 0)  # weighted_bipred_idc
    bits.se(0)  # pic_init_qp_minus26
    bits.se(0)  # pic_init_qs_minus26
    bits.se(0)  # chroma_qp_index_offset
    bits.u(1, 1)  # deblocking_filter_control_present_flag
    bits.u(1, 0)  # constrained_intra_pred_flag
    bits.u(1, 0)  # redundant_pic_cnt_present_flag
    return _nal(3, 8, bits.trailing())


def _macroblocks(frame: Image.Image, width_mbs: int, height_mbs: int) -> list[bytes]:
    """Each macroblock's I_PCM payload: 256 luma, then 64 Cb and 64 Cr samples (4:2:0)."""
    width = width_mbs * MB
    ycc = frame.convert("RGB").convert("YCbCr")
    y_plane, cb_full, cr_full = ycc.split()
    # Pillow's YCbCr is full range; H.264 without VUI means studio range (16-235/240).
    y_plane = y_plane.point(_LUMA_RANGE)
    cb_full = cb_full.point(_CHROMA_RANGE)
    cr_full = cr_full.point(_CHROMA_RANGE)
    half = (width // 2, height_mbs * MB // 2)
    luma = y_plane.tobytes()
    cb = cb_full.resize(half, Image.Resampling.BOX).tobytes()
    cr = cr_full.resize(half, Image.Resampling.BOX).tobytes()
    chroma_width = width // 2
    blocks = []
    for mby in range(height_mbs):
        for mbx in range(width_mbs):
            parts = []
            for row in range(MB):
                start = (mby * MB + row) * width + mbx * MB
                parts.append(luma[start : start + MB])
            for plane in (cb, cr):
                for row in range(MB // 2):
                    start = (mby * MB // 2 + row) * chroma_width + mbx * MB // 2
                    parts.append(plane[start : start + MB // 2])
            blocks.append(b"".join(parts))
    return blocks


def _slice(blocks: list[bytes], previous: list[bytes] | None, frame_num: int, idr_id: int) -> bytes:
    bits = _Bits()
    bits.ue(0)  # first_mb_in_slice
    bits.ue(7 if previous is None else 5)  # slice_type: I or P, same for the whole picture
    bits.ue(0)  # pic_parameter_set_id
    bits.u(_LOG2_MAX_FRAME_NUM, frame_num % (1 << _LOG2_MAX_FRAME_NUM))
    if previous is None:
        bits.ue(idr_id)  # idr_pic_id
        bits.u(1, 0)  # no_output_of_prior_pics_flag
        bits.u(1, 0)  # long_term_reference_flag
    else:
        bits.u(1, 0)  # num_ref_idx_active_override_flag
        bits.u(1, 0)  # ref_pic_list_modification_flag_l0
        bits.u(1, 0)  # adaptive_ref_pic_marking_mode_flag
    bits.se(0)  # slice_qp_delta
    bits.ue(1)  # disable_deblocking_filter_idc: off, so skipped blocks stay exact copies
    if previous is None:
        for block in blocks:
            bits.ue(_I_PCM_IN_I)
            bits.align_zero()
            bits.raw(block)
        return _nal(3, 5, bits.trailing())
    skipped = 0
    for block, before in zip(blocks, previous, strict=True):
        if block == before:
            skipped += 1
            continue
        bits.ue(skipped)  # mb_skip_run
        skipped = 0
        bits.ue(_I_PCM_IN_P)
        bits.align_zero()
        bits.raw(block)
    if skipped:
        bits.ue(skipped)
    return _nal(2, 1, bits.trailing())


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *parts)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _mp4(samples: list[bytes], sps: bytes, pps: bytes, width: int, height: int, fps: int) -> bytes:
    timescale = fps * 100
    duration = len(samples) * 100
    duration_ms = len(samples) * 1000 // fps
    avcc = _box(
        b"avcC",
        bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]),
        struct.pack(">H", len(sps)),
        sps,
        b"\x01",
        struct.pack(">H", len(pps)),
        pps,
    )
    avc1 = _box(
        b"avc1",
        b"\x00" * 6,
        struct.pack(">H", 1),  # data_reference_index
        b"\x00" * 16,
        struct.pack(">HH", width, height),
        struct.pack(">II", 0x480000, 0x480000),  # 72 dpi
        b"\x00" * 4,
        struct.pack(">H", 1),  # frame_count
        bytes([13]) + b"FLORA sandbox".ljust(31, b"\x00"),
        struct.pack(">Hh", 0x18, -1),
        avcc,
    )

    def stbl(chunk_offset: int) -> bytes:
        return _box(
            b"stbl",
            _full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
            _full_box(b"stts", 0, 0, struct.pack(">III", 1, len(samples), 100)),
            _full_box(b"stss", 0, 0, struct.pack(">II", 1, 1)),
            _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, len(samples), 1)),
            _full_box(
                b"stsz",
                0,
                0,
                struct.pack(">II", 0, len(samples)),
                b"".join(struct.pack(">I", len(sample)) for sample in samples),
            ),
            _full_box(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset)),
        )

    def moov(chunk_offset: int) -> bytes:
        mvhd = _full_box(
            b"mvhd",
            0,
            0,
            struct.pack(">IIII", 0, 0, 1000, duration_ms),
            struct.pack(">IH", 0x10000, 0x100),
            b"\x00" * 10,
            _MATRIX,
            b"\x00" * 24,
            struct.pack(">I", 2),  # next_track_ID
        )
        tkhd = _full_box(
            b"tkhd",
            0,
            3,  # enabled, in movie
            struct.pack(">IIII", 0, 0, 1, 0),
            struct.pack(">I", duration_ms),
            b"\x00" * 8,
            struct.pack(">hhhH", 0, 0, 0, 0),
            _MATRIX,
            struct.pack(">II", width << 16, height << 16),
        )
        mdhd = _full_box(
            b"mdhd",
            0,
            0,
            struct.pack(">IIII", 0, 0, timescale, duration),
            struct.pack(">HH", 0x55C4, 0),
        )
        hdlr = _full_box(
            b"hdlr", 0, 0, b"\x00" * 4, b"vide", b"\x00" * 12, b"FLORA sandbox video\x00"
        )
        vmhd = _full_box(b"vmhd", 0, 1, b"\x00" * 8)
        dinf = _box(
            b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1))
        )
        minf = _box(b"minf", vmhd, dinf, stbl(chunk_offset))
        trak = _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf))
        return _box(b"moov", mvhd, trak)

    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    # The moov's size does not depend on the offset it holds: measure, then build for real.
    offset = len(ftyp) + len(moov(0)) + 8
    mdat = _box(b"mdat", *samples)
    return ftyp + moov(offset) + mdat


def encode_mp4(frames: Iterable[Image.Image], fps: int) -> bytes:
    """An MP4 (H.264 Constrained Baseline) of the frames; sizes must be multiples of 16."""
    samples: list[bytes] = []
    previous: list[bytes] | None = None
    sps = pps = b""
    width = height = 0
    for index, frame in enumerate(frames):
        if previous is None:
            width, height = frame.size
            if width % MB or height % MB:
                raise ValueError(f"frame size {width}x{height} is not a multiple of {MB}")
            sps, pps = _sps(width // MB, height // MB), _pps()
        elif frame.size != (width, height):
            raise ValueError("every frame must have the first frame's size")
        blocks = _macroblocks(frame, width // MB, height // MB)
        nal = _slice(blocks, previous, frame_num=index, idr_id=0)
        samples.append(struct.pack(">I", len(nal)) + nal)
        previous = blocks
    if not samples:
        raise ValueError("no frames")
    return _mp4(samples, sps, pps, width, height, fps)
