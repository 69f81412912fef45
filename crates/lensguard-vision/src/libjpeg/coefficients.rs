//! A JPEG's quantised DCT coefficients: read them, let the caller change some,
//! and write them back with only the entropy coding redone (what `jpegtran`
//! does; no pixel is decoded or re-quantised).
//!
//! [`transcode`] is the only entry point. The caller's edit sees one block row
//! of one component at a time through [`Coefficients::row`], which hands out
//! a slice borrowed from libjpeg's coefficient arrays; borrowing it mutably
//! from the [`Coefficients`] keeps two rows from being held at once, which is
//! what libjpeg's virtual arrays allow.
//!
//! Invariants: the output keeps the input's quantisation tables, sampling
//! factors and colour space (`jpeg_copy_critical_parameters`), and carries
//! no marker of the input (no EXIF, XMP, ICC profile or comment): libjpeg
//! writes only what a baseline JPEG needs (SOI, JFIF or Adobe, DQT, SOF,
//! DHT, SOS, EOI). Every libjpeg call runs inside [`super::guarded`]; the
//! codec structs and the output are released on every path, unwinds
//! included.
#![allow(unsafe_code)]

use super::errors::strict_error_mgr;
use crate::Error;
use mozjpeg_sys as ffi;
use std::os::raw::{c_int, c_ulong};

/// Where libjpeg writes the output: a fixed chunk it fills, emptied into a
/// growing `Vec`. `iface` comes first so libjpeg's `cinfo.dest` pointer is
/// also a pointer to this struct; it lives in a `Box` owned by [`Codec`],
/// so its address does not move while libjpeg holds it.
#[repr(C)]
struct VecDestination {
    iface: ffi::jpeg_destination_mgr,
    chunk: Vec<u8>,
    out: Vec<u8>,
}

/// Bytes libjpeg writes between two calls back.
const CHUNK: usize = 1 << 16;

impl VecDestination {
    fn boxed() -> *mut VecDestination {
        Box::into_raw(Box::new(VecDestination {
            iface: ffi::jpeg_destination_mgr {
                next_output_byte: std::ptr::null_mut(),
                free_in_buffer: 0,
                init_destination: Some(destination_init),
                empty_output_buffer: Some(destination_empty),
                term_destination: Some(destination_term),
            },
            chunk: vec![0; CHUNK],
            out: Vec::new(),
        }))
    }
}

/// The destination of `cinfo`, as installed by [`write`].
///
/// # Safety
/// `cinfo.dest` must point at a live [`VecDestination`].
unsafe fn destination(cinfo: &mut ffi::jpeg_compress_struct) -> &mut VecDestination {
    // SAFETY: the caller's promise; `iface` is the first field of a repr(C) struct.
    unsafe { &mut *cinfo.dest.cast::<VecDestination>() }
}

unsafe extern "C-unwind" fn destination_init(cinfo: &mut ffi::jpeg_compress_struct) {
    // SAFETY: libjpeg calls this only on the compressor `write` set up.
    let d = unsafe { destination(cinfo) };
    d.iface.next_output_byte = d.chunk.as_mut_ptr();
    d.iface.free_in_buffer = d.chunk.len();
}

/// libjpeg's contract: the whole chunk is full, whatever `free_in_buffer` says.
unsafe extern "C-unwind" fn destination_empty(
    cinfo: &mut ffi::jpeg_compress_struct,
) -> ffi::boolean {
    // SAFETY: as in `destination_init`.
    let d = unsafe { destination(cinfo) };
    d.out.extend_from_slice(&d.chunk);
    d.iface.next_output_byte = d.chunk.as_mut_ptr();
    d.iface.free_in_buffer = d.chunk.len();
    1
}

unsafe extern "C-unwind" fn destination_term(cinfo: &mut ffi::jpeg_compress_struct) {
    // SAFETY: as in `destination_init`.
    let d = unsafe { destination(cinfo) };
    let used = d.chunk.len().saturating_sub(d.iface.free_in_buffer);
    d.out.extend_from_slice(&d.chunk[..used]);
}

/// How the components of a JPEG are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Colour {
    /// One component, luma.
    Grey,
    /// Luma, then two chroma components centred on 0.
    YCbCr,
    /// Red, green and blue, each as a component (Adobe transform 0).
    Rgb,
}

/// One component's block grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Component {
    /// Blocks across the image (partial blocks at the edge included).
    pub(crate) blocks_wide: u32,
    /// Blocks down the image.
    pub(crate) blocks_high: u32,
    /// Image pixels one block spans across (8, or 16 for subsampled chroma).
    pub(crate) block_width: u32,
    /// Image pixels one block spans down.
    pub(crate) block_height: u32,
    /// The quantisation step of the DC coefficient.
    pub(crate) dc_step: u16,
}

/// libjpeg's coefficient arrays, one per component.
type Arrays = *mut *mut ffi::jvirt_barray_control;

/// One 8x8 block of quantised coefficients, in natural order (DC first).
pub(crate) type Block = [i16; 64];

/// The coefficients of a JPEG being transcoded.
pub(crate) struct Coefficients<'a> {
    codec: &'a mut Codec,
    arrays: Arrays,
    components: Vec<Component>,
    colour: Colour,
    mcu: (u32, u32),
    size: (u32, u32),
}

impl Coefficients<'_> {
    /// The components, in file order.
    pub(crate) fn components(&self) -> &[Component] {
        &self.components
    }

    /// How the components are read.
    pub(crate) fn colour(&self) -> Colour {
        self.colour
    }

    /// Width and height, in pixels, of one MCU: the grid every component's
    /// blocks align to.
    pub(crate) fn mcu(&self) -> (u32, u32) {
        self.mcu
    }

    /// Image width and height, in pixels, as stored.
    pub(crate) fn size(&self) -> (u32, u32) {
        self.size
    }

    /// Block row `row` of component `component`, `blocks_wide` blocks long;
    /// `None` past the grid.
    pub(crate) fn row(&mut self, component: usize, row: u32) -> Option<&mut [Block]> {
        let c = *self.components.get(component)?;
        if row >= c.blocks_high {
            return None;
        }
        let d = &mut *self.codec.decompress;
        // SAFETY: `arrays` came from jpeg_read_coefficients on this decompressor
        // and has one entry per component; the memory manager is libjpeg's own.
        // One row is at most `maxaccess` (the component's v_samp_factor, >= 1).
        // The array is at least `blocks_wide` blocks wide (libjpeg rounds it up
        // to the sampling factor), and the rows stay valid until the next access
        // or the decompressor's destruction, both of which need `&mut self`.
        unsafe {
            let mem = d.common.mem.as_ref()?;
            let access = mem.access_virt_barray?;
            let array = *self.arrays.add(component);
            let rows = access(&mut d.common, array, row, 1, 1);
            let first = rows.as_ref()?;
            Some(std::slice::from_raw_parts_mut(
                *first,
                c.blocks_wide as usize,
            ))
        }
    }
}

/// The decompressor, compressor and output of one transcode; dropping it
/// releases all three, whatever state libjpeg stopped in.
struct Codec {
    err: Box<ffi::jpeg_error_mgr>,
    decompress: Box<ffi::jpeg_decompress_struct>,
    compress: Box<ffi::jpeg_compress_struct>,
    decompress_made: bool,
    compress_made: bool,
    /// From `VecDestination::boxed`; turned back into its `Box` on drop.
    destination: *mut VecDestination,
}

impl Drop for Codec {
    fn drop(&mut self) {
        // SAFETY: each struct is destroyed only when jpeg_create_* ran on it;
        // destroying releases every pool, whatever the state. The destination
        // came from Box::into_raw and is freed once, after the compressor
        // that pointed at it is gone.
        unsafe {
            if self.compress_made {
                ffi::jpeg_destroy_compress(&mut self.compress);
            }
            if self.decompress_made {
                ffi::jpeg_destroy_decompress(&mut self.decompress);
            }
            drop(Box::from_raw(self.destination));
        }
    }
}

/// Reads the coefficients of the JPEG in `bytes`, hands them to `edit`, and
/// writes them back as a baseline JPEG with the same quantisation and no
/// metadata. Errors when the file cannot be read (damaged, truncated) or is
/// not 8-bit greyscale, YCbCr or RGB with sampling factors that divide the
/// largest one.
pub(crate) fn transcode(
    bytes: &[u8],
    edit: impl FnOnce(&mut Coefficients<'_>),
) -> Result<Vec<u8>, Error> {
    super::guarded(|| {
        // SAFETY: all-zero bytes are a valid value for these C structs of
        // integers, floats and nullable pointers; jpeg_create_* initialise them.
        let mut codec = unsafe {
            Codec {
                err: Box::new(strict_error_mgr()),
                decompress: Box::new(std::mem::zeroed()),
                compress: Box::new(std::mem::zeroed()),
                decompress_made: false,
                compress_made: false,
                destination: VecDestination::boxed(),
            }
        };
        let arrays = read(&mut codec, bytes)?;
        let mut coefficients = describe(&mut codec, arrays)?;
        edit(&mut coefficients);
        write(&mut codec, arrays)
    })
}

/// Reads the header and every coefficient.
fn read(codec: &mut Codec, bytes: &[u8]) -> Result<Arrays, Error> {
    let len = c_ulong::try_from(bytes.len())
        .map_err(|_| Error::Corrupt("JPEG larger than libjpeg can read".to_owned()))?;
    let d = &mut *codec.decompress;
    // SAFETY: `err` is boxed and outlives the decompressor (both live in
    // `codec`); `bytes` outlives this call, the only one that reads it.
    unsafe {
        d.common.err = &mut *codec.err;
        ffi::jpeg_create_decompress(d);
        codec.decompress_made = true;
        ffi::jpeg_mem_src(d, bytes.as_ptr(), len);
        ffi::jpeg_read_header(d, 1);
        let arrays = ffi::jpeg_read_coefficients(d);
        if arrays.is_null() {
            return Err(Error::Corrupt("no coefficients in the JPEG".to_owned()));
        }
        Ok(arrays)
    }
}

/// The geometry of what [`read`] read.
fn describe(codec: &mut Codec, arrays: Arrays) -> Result<Coefficients<'_>, Error> {
    let d = &*codec.decompress;
    let colour = match (d.jpeg_color_space, d.num_components) {
        (ffi::J_COLOR_SPACE::JCS_GRAYSCALE, 1) => Colour::Grey,
        (ffi::J_COLOR_SPACE::JCS_YCbCr, 3) => Colour::YCbCr,
        (ffi::J_COLOR_SPACE::JCS_RGB, 3) => Colour::Rgb,
        _ => {
            return Err(Error::UnsupportedFormat(
                "only greyscale, YCbCr and RGB JPEGs are redacted in place".to_owned(),
            ));
        }
    };
    let (max_h, max_v) = (d.max_h_samp_factor, d.max_v_samp_factor);
    let n = usize::try_from(d.num_components).unwrap_or(0);
    // SAFETY: after jpeg_read_header, comp_info points at num_components entries.
    let infos = unsafe { std::slice::from_raw_parts(d.comp_info, n) };
    let mut components = Vec::with_capacity(n);
    for info in infos {
        let (h, v) = (info.h_samp_factor, info.v_samp_factor);
        if h <= 0 || v <= 0 || max_h % h != 0 || max_v % v != 0 {
            return Err(Error::UnsupportedFormat(format!(
                "sampling factors {h}x{v} of {max_h}x{max_v}"
            )));
        }
        // SAFETY: jpeg_read_coefficients latched every component's table.
        let table = unsafe { info.quant_table.as_ref() }
            .ok_or_else(|| Error::Corrupt("a component has no quantisation table".to_owned()))?;
        components.push(Component {
            blocks_wide: info.width_in_blocks,
            blocks_high: info.height_in_blocks,
            block_width: 8 * (max_h / h) as u32,
            block_height: 8 * (max_v / v) as u32,
            dc_step: table.quantval[0].max(1),
        });
    }
    let mcu = (8 * max_h as u32, 8 * max_v as u32);
    let size = (d.image_width, d.image_height);
    Ok(Coefficients {
        codec,
        arrays,
        components,
        colour,
        mcu,
        size,
    })
}

/// Writes `arrays` with the decompressor's critical parameters, baseline,
/// standard Huffman tables, and returns the bytes.
fn write(codec: &mut Codec, arrays: Arrays) -> Result<Vec<u8>, Error> {
    let c = &mut *codec.compress;
    // SAFETY: as in `read`; the compressor reads the decompressor's parameters
    // and arrays, both alive in `codec`, and writes into `codec.destination`,
    // which outlives it (see `Codec::drop`).
    unsafe {
        c.common.err = &mut *codec.err;
        ffi::jpeg_create_compress(c);
        codec.compress_made = true;
        c.dest = codec.destination.cast();
        // libjpeg-turbo's baseline defaults, not mozjpeg's progressive ones.
        ffi::jpeg_c_set_int_param(
            c,
            ffi::J_INT_PARAM::JINT_COMPRESS_PROFILE,
            ffi::JINT_COMPRESS_PROFILE_VALUE::JCP_FASTEST as c_int,
        );
        ffi::jpeg_copy_critical_parameters(&codec.decompress, c);
        c.optimize_coding = 0;
        ffi::jpeg_write_coefficients(c, arrays);
        ffi::jpeg_finish_compress(c);
        ffi::jpeg_finish_decompress(&mut codec.decompress);
        Ok(std::mem::take(&mut (*codec.destination).out))
    }
}
