//! Placement on CloudWatch's 24-column grid: widgets flow left to right and wrap to a new row when the
//! next one would cross column 24, like text.

use crate::validate::GRID_COLUMNS;

/// A cursor over the grid.
///
/// ```
/// use dashboards::layout::GridLayout;
/// let mut grid = GridLayout::new();
/// assert_eq!(grid.place(12, 6), (0, 0));
/// assert_eq!(grid.place(12, 6), (12, 0));
/// assert_eq!(grid.place(8, 4), (0, 6)); // wrapped
/// grid.new_row();
/// assert_eq!(grid.place(24, 2), (0, 10));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GridLayout {
    x: u32,
    y: u32,
    row_height: u32,
}

impl GridLayout {
    /// An empty grid; the first widget goes at (0, 0).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Places a `width` × `height` widget and returns its `(x, y)`. Widths above 24 are clamped.
    pub fn place(&mut self, width: u32, height: u32) -> (u32, u32) {
        let width = width.clamp(1, GRID_COLUMNS);
        if self.x + width > GRID_COLUMNS {
            self.new_row();
        }
        let at = (self.x, self.y);
        self.x += width;
        self.row_height = self.row_height.max(height);
        at
    }

    /// Ends the current row; the next widget starts at column 0 below the tallest widget of the row.
    pub fn new_row(&mut self) {
        if self.x > 0 {
            self.y += self.row_height;
        }
        self.x = 0;
        self.row_height = 0;
    }

    /// The first free row below everything placed so far.
    #[must_use]
    pub fn bottom(&self) -> u32 {
        if self.x > 0 {
            self.y + self.row_height
        } else {
            self.y
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rows_take_the_tallest_height() {
        let mut g = GridLayout::new();
        g.place(6, 3);
        g.place(6, 8);
        g.place(12, 2);
        assert_eq!(g.place(1, 1), (0, 8));
        assert_eq!(g.bottom(), 9);
    }

    #[test]
    fn new_row_on_an_empty_row_is_a_no_op() {
        let mut g = GridLayout::new();
        g.new_row();
        g.new_row();
        assert_eq!(g.place(24, 1), (0, 0));
    }

    proptest! {
        #[test]
        fn placements_stay_on_the_grid_and_never_overlap(sizes in prop::collection::vec((1u32..=30, 1u32..=10), 1..60)) {
            let mut g = GridLayout::new();
            let mut placed: Vec<(u32, u32, u32, u32)> = Vec::new();
            for (w, h) in sizes {
                let (x, y) = g.place(w, h);
                let w = w.min(24);
                prop_assert!(x + w <= 24);
                for &(px, py, pw, ph) in &placed {
                    let overlap = x < px + pw && px < x + w && y < py + ph && py < y + h;
                    prop_assert!(!overlap, "({x},{y},{w},{h}) overlaps ({px},{py},{pw},{ph})");
                }
                placed.push((x, y, w, h));
            }
        }
    }
}
