//! Where a smaller rectangle sits inside a larger one: `resize position=` (which part
//! `fit=cover` keeps, where `fit=contain background=` puts the image) and `extend`.

use crate::choice::choices;

choices! {
    /// A gravity (which side or corner stays; `centre`: the middle), or `attention`
    /// (the most salient part, `fit=cover` only: see `attention`).
    pub enum Position {
        Centre = "centre",
        Top = "top",
        Right = "right",
        Bottom = "bottom",
        Left = "left",
        TopRight = "top_right",
        BottomRight = "bottom_right",
        BottomLeft = "bottom_left",
        TopLeft = "top_left",
        Attention = "attention",
    }
}

/// Where along one axis: the start, the middle or the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Left or top.
    Start,
    /// Centred (the odd pixel goes after).
    Middle,
    /// Right or bottom.
    End,
}

impl Align {
    /// The offset of a span inside one `extra` longer.
    pub fn offset(self, extra: u64) -> u64 {
        match self {
            Align::Start => 0,
            Align::Middle => extra / 2,
            Align::End => extra,
        }
    }

    /// [`Align::offset`] for a fractional `extra`.
    pub fn offset_f64(self, extra: f64) -> f64 {
        match self {
            Align::Start => 0.0,
            Align::Middle => extra / 2.0,
            Align::End => extra,
        }
    }
}

impl Position {
    /// (horizontal, vertical) alignment (`attention` is centred here: its crop is
    /// chosen from the content).
    pub fn align(self) -> (Align, Align) {
        use Align::{End, Middle, Start};
        match self {
            Position::Centre | Position::Attention => (Middle, Middle),
            Position::Top => (Middle, Start),
            Position::Right => (End, Middle),
            Position::Bottom => (Middle, End),
            Position::Left => (Start, Middle),
            Position::TopRight => (End, Start),
            Position::BottomRight => (End, End),
            Position::BottomLeft => (Start, End),
            Position::TopLeft => (Start, Start),
        }
    }
}
