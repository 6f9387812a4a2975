//! A node's memory budget. Every linear memory and every table of its instance counts
//! against one cap (`run.memory_mb`), not each memory on its own: a component may define
//! several memories and tables, and each would otherwise get the whole cap. Going past it
//! traps the call that asked, which crashes that node alone, with a message that names the
//! node, the limit and the key that raises it.

use wasmtime::ResourceLimiter;

/// Each table element costs a pointer in wasmtime.
const TABLE_ELEMENT_BYTES: usize = std::mem::size_of::<usize>();

/// At most this many core instances, tables and memories in one node's store (a
/// component built by wit-bindgen or componentize-py has a handful of each).
const MAX_PARTS: usize = 100;

/// What one node's store may allocate, and what it has.
#[derive(Debug)]
pub struct Budget {
    node: u32,
    cap: usize,
    used: usize,
}

impl Budget {
    /// A budget of `cap` bytes for node `node`.
    pub fn new(node: u32, cap: usize) -> Self {
        Budget { node, cap, used: 0 }
    }

    /// Bytes of memories and tables allocated so far.
    #[cfg(test)]
    pub fn used(&self) -> usize {
        self.used
    }

    fn grow(&mut self, what: &str, bytes: usize) -> wasmtime::Result<bool> {
        let total = self.used.saturating_add(bytes);
        if total > self.cap {
            return Err(wasmtime::Error::msg(format!(
                "N{} asked to grow a {what} past its budget: {} MiB of memories and tables in all, more than {} MiB (run.memory_mb raises it)",
                self.node,
                total >> 20,
                self.cap >> 20
            )));
        }
        self.used = total;
        Ok(true)
    }
}

impl ResourceLimiter for Budget {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow("memory", desired.saturating_sub(current))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let elements = desired.saturating_sub(current);
        self.grow("table", elements.saturating_mul(TABLE_ELEMENT_BYTES))
    }

    fn instances(&self) -> usize {
        MAX_PARTS
    }

    fn tables(&self) -> usize {
        MAX_PARTS
    }

    fn memories(&self) -> usize {
        MAX_PARTS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memories_and_tables_share_one_budget() {
        let mut b = Budget::new(3, 10 << 20);
        assert!(b.memory_growing(0, 6 << 20, None).unwrap());
        // A second memory of 6 MiB would fit on its own, not with the first.
        let e = b.memory_growing(0, 6 << 20, None).unwrap_err().to_string();
        assert!(e.contains("N3") && e.contains("run.memory_mb"), "{e}");
        assert!(b.table_growing(0, 1000, None).unwrap());
        assert!(b.table_growing(1000, 1 << 20, None).is_err());
        assert_eq!(b.used(), (6 << 20) + 1000 * TABLE_ELEMENT_BYTES);
    }
}
