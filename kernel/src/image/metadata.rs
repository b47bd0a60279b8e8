//! Metadata carried from a decoded file to an encoded one (`encode icc=keep`,
//! `exif=keep`).
//!
//! The source's EXIF block (TIFF-structured bytes) is kept as it is, but for its
//! orientation: the decoder has already turned the pixels upright, so IFD0's
//! `Orientation` is set to 1 (a viewer would turn them again otherwise).

/// What an encode writes besides the pixels (nothing by default).
#[derive(Debug, Clone, Copy, Default)]
pub struct Metadata<'a> {
    /// The source's ICC profile.
    pub icc: Option<&'a [u8]>,
    /// The source's EXIF block (TIFF-structured), its orientation already reset.
    pub exif: Option<&'a [u8]>,
}

/// The `Orientation` tag.
const ORIENTATION: u16 = 0x0112;
/// TIFF type SHORT.
const SHORT: u16 = 3;

/// EXIF `tiff` with IFD0's orientation set to 1 (unchanged when it has none), or `None`
/// when its header or IFD0 cannot be read (nothing is kept then).
pub fn upright_exif(tiff: &[u8]) -> Option<Vec<u8>> {
    let big = match tiff.get(0..4)? {
        b"II*\0" => false,
        b"MM\0*" => true,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(at..at + 2)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = u32_at(4)? as usize;
    let count = usize::from(u16_at(ifd)?);
    // The whole directory must be there.
    tiff.get(ifd..ifd + 2 + 12 * count)?;
    let mut out = tiff.to_vec();
    for entry in (0..count).map(|i| ifd + 2 + 12 * i) {
        if u16_at(entry)? == ORIENTATION && u16_at(entry + 2)? == SHORT && u32_at(entry + 4)? >= 1 {
            let one = if big { 1u16.to_be_bytes() } else { 1u16.to_le_bytes() };
            out[entry + 8..entry + 10].copy_from_slice(&one);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TIFF header and an IFD0 of `entries` (tag, type, count, value), big- or
    /// little-endian.
    fn tiff(big: bool, entries: &[(u16, u16, u32, u16)]) -> Vec<u8> {
        let w16 = |v: u16| if big { v.to_be_bytes() } else { v.to_le_bytes() };
        let w32 = |v: u32| if big { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut t = if big { b"MM\0*".to_vec() } else { b"II*\0".to_vec() };
        t.extend_from_slice(&w32(8));
        t.extend_from_slice(&w16(entries.len() as u16));
        for &(tag, ty, count, value) in entries {
            t.extend_from_slice(&w16(tag));
            t.extend_from_slice(&w16(ty));
            t.extend_from_slice(&w32(count));
            t.extend_from_slice(&w16(value));
            t.extend_from_slice(&[0, 0]);
        }
        t.extend_from_slice(&w32(0));
        t
    }

    #[test]
    fn orientation_becomes_1_and_nothing_else_changes() {
        for big in [false, true] {
            let src = tiff(
                big,
                &[(0x010f, 2, 4, 0x4142), (ORIENTATION, SHORT, 1, 6), (0x0110, 2, 2, 7)],
            );
            let want = tiff(
                big,
                &[(0x010f, 2, 4, 0x4142), (ORIENTATION, SHORT, 1, 1), (0x0110, 2, 2, 7)],
            );
            assert_eq!(upright_exif(&src).unwrap(), want);
            // Read back by an independent parser: orientation 1.
            let exif = exif::Reader::new().read_raw(upright_exif(&src).unwrap()).unwrap();
            let o = exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY).unwrap();
            assert_eq!(o.value.get_uint(0), Some(1));
            // No orientation: the same bytes.
            let plain = tiff(big, &[(0x010f, 2, 4, 0x4142)]);
            assert_eq!(upright_exif(&plain).unwrap(), plain);
        }
    }

    #[test]
    fn unreadable_blocks_are_not_kept() {
        let src = tiff(false, &[(ORIENTATION, SHORT, 1, 6)]);
        for n in 0..src.len() - 4 {
            assert_eq!(upright_exif(&src[..n]), None, "{n}");
        }
        assert_eq!(upright_exif(b"XX*\0\x08\0\0\0"), None);
    }
}
