//! A throughput-over-time bar chart as a PNG, drawn pixel by pixel (one bar per second, light
//! grid lines every tenth of the peak). The figures themselves are in the report; the picture
//! shows their shape: ramp-up, steady state, tail.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;

const WIDTH: usize = 800;
const HEIGHT: usize = 300;
const MARGIN: usize = 20;

pub fn throughput(per_second: &[u64], path: &Path) -> anyhow::Result<()> {
    let mut pixels = vec![[255u8, 255, 255]; WIDTH * HEIGHT];
    let peak = per_second.iter().copied().max().unwrap_or(1).max(1) as f64;
    let plot_width = WIDTH - 2 * MARGIN;
    let plot_height = HEIGHT - 2 * MARGIN;
    let mut set = |x: usize, y: usize, colour: [u8; 3]| {
        if x < WIDTH && y < HEIGHT {
            pixels[y * WIDTH + x] = colour;
        }
    };
    for tenth in 1..=10 {
        let y = HEIGHT - MARGIN - plot_height * tenth / 10;
        for x in MARGIN..WIDTH - MARGIN {
            set(x, y, [225, 225, 225]);
        }
    }
    let slot = plot_width / per_second.len().max(1);
    for (i, &value) in per_second.iter().enumerate() {
        let bar = (value as f64 / peak * plot_height as f64) as usize;
        let left = MARGIN + i * slot;
        for x in left + usize::from(slot > 2)..left + slot.max(1) {
            for y in HEIGHT - MARGIN - bar..HEIGHT - MARGIN {
                set(x, y, [52, 101, 164]);
            }
        }
    }
    for x in MARGIN..WIDTH - MARGIN {
        set(x, HEIGHT - MARGIN, [0, 0, 0]);
    }
    for y in MARGIN..=HEIGHT - MARGIN {
        set(MARGIN, y, [0, 0, 0]);
    }
    std::fs::write(path, encode(&pixels)?).with_context(|| format!("writing {}", path.display()))
}

/// An 8-bit RGB PNG: signature, IHDR, one zlib-compressed IDAT, IEND.
fn encode(pixels: &[[u8; 3]]) -> anyhow::Result<Vec<u8>> {
    let mut raw = Vec::with_capacity(HEIGHT * (1 + WIDTH * 3));
    for row in pixels.chunks(WIDTH) {
        raw.push(0); // no filter
        raw.extend(row.iter().flatten());
    }
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(&raw)?;
    let mut header = Vec::new();
    header.extend_from_slice(&(WIDTH as u32).to_be_bytes());
    header.extend_from_slice(&(HEIGHT as u32).to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // depth 8, RGB, deflate, adaptive filters, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", header), (b"IDAT", zlib.finish()?), (b"IEND", Vec::new())] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(&data);
        png.extend_from_slice(kind);
        png.extend_from_slice(&data);
        png.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    Ok(png)
}
