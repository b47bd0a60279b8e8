//! Parameters that name one of a few choices (`fit=cover`, `format=gzip`).
//!
//! Each such enum lives beside the algorithm it steers and is declared with
//! [`choices!`], which gives it its pipeline names once: the op catalogue lists them
//! (`describe()`, the checker) and the builder turns a checked name back into the enum.

/// An enum whose variants are named in pipelines.
pub trait Choice: Sized + Copy + 'static {
    /// The names, in the order `describe()` lists them.
    const NAMES: &'static [&'static str];
    /// The variant of a name, if it is one.
    fn from_name(name: &str) -> Option<Self>;
    /// The name of a variant.
    fn name(self) -> &'static str;
}

/// Declares an enum of named choices and implements [`Choice`] for it:
/// `choices! { /// doc \n pub enum Fit { Contain = "contain", ... } }`.
macro_rules! choices {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $(#[doc = concat!("`", $text, "`")] $(#[$vmeta])* $variant),+
        }

        impl $crate::choice::Choice for $name {
            const NAMES: &'static [&'static str] = &[$($text),+];
            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
            fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }
    };
}
pub(crate) use choices;
