//! An idle holder maps only the code it runs. Start-up (the loader, the runtime, the fork, the
//! program's spawn) faults in pages of the executable, and the kernel maps up to 64 KiB around
//! each fault from the page cache ("fault-around"), so a fresh holder has megabytes of the
//! binary mapped: file-backed memory, shared with the gateway and other holders, yet counted in
//! each one's PSS. Once started, the holder drops every clean page of its executable's mappings
//! (they stay in the page cache; the next use maps the page again, a minor fault) and turns
//! fault-around off for them (`MADV_RANDOM`), so what stays mapped is what its loop touches.
//! Pages the process wrote (relocated data, the GOT) are anonymous copies and are never dropped:
//! `/proc/self/pagemap` says which page is which.

use std::io::{Read as _, Seek as _, SeekFrom};

const PAGE: usize = 4096;
/// `/proc/self/pagemap` bits: page present, page is a file page (or shared anonymous).
const PRESENT: u64 = 1 << 63;
const FILE_PAGE: u64 = 1 << 61;

/// Drops the clean pages of this process's executable mappings; returns how many bytes.
/// Best effort: any failure leaves the pages where they are.
///
/// Every run is found first and dropped last, in one tight loop: code that ran after a drop
/// (the next line's parse, the next pagemap read) would map its pages again, and on a kernel
/// that maps a whole page-cache folio per fault (64 KiB and more) that is most of what an idle
/// holder would keep.
pub(super) fn shed_executable_pages() -> usize {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else { return 0 };
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return 0 };
    let Ok(mut pagemap) = std::fs::File::open("/proc/self/pagemap") else { return 0 };
    let exe = exe.to_string_lossy();
    let mut runs = Vec::new();
    for line in maps.lines() {
        let Some((start, end)) = executable_range(line, &exe) else { continue };
        advise(start, end - start, libc::MADV_RANDOM);
        clean_runs(&mut pagemap, start, end, &mut runs);
    }
    let mut shed = 0;
    for &(from, to) in &runs {
        if advise(from, to - from, libc::MADV_DONTNEED) {
            shed += to - from;
        }
    }
    shed
}

/// The range of a `/proc/self/maps` line that maps the file `exe` privately.
fn executable_range(line: &str, exe: &str) -> Option<(usize, usize)> {
    let mut fields = line.splitn(6, ' ');
    let range = fields.next()?;
    let perms = fields.next()?;
    // Offset, device, inode; then the path, padded with spaces.
    let path = fields.nth(3)?.trim_start();
    if path != exe || !perms.ends_with('p') {
        return None;
    }
    let (a, b) = range.split_once('-')?;
    Some((usize::from_str_radix(a, 16).ok()?, usize::from_str_radix(b, 16).ok()?))
}

/// Adds to `runs` the runs of pages in `start..end` mapped straight from the file (never
/// written here). Reads pagemap a stack buffer at a time (the runs are few: a short list).
fn clean_runs(pagemap: &mut std::fs::File, start: usize, end: usize, runs: &mut Vec<(usize, usize)>) {
    let mut buf = [0u8; 4096];
    let mut page = start;
    if pagemap.seek(SeekFrom::Start((start / PAGE * 8) as u64)).is_err() {
        return;
    }
    let mut run: Option<(usize, usize)> = None;
    while page < end {
        let want = ((end - page) / PAGE * 8).min(buf.len());
        if pagemap.read_exact(&mut buf[..want]).is_err() {
            break;
        }
        for entry in buf[..want].chunks_exact(8) {
            let bits = u64::from_le_bytes(entry.try_into().unwrap_or_default());
            if bits & PRESENT != 0 && bits & FILE_PAGE != 0 {
                match &mut run {
                    Some((_, to)) if *to == page => *to = page + PAGE,
                    _ => runs.extend(run.replace((page, page + PAGE))),
                }
            } else {
                runs.extend(run.take());
            }
            page += PAGE;
        }
    }
    runs.extend(run);
}

/// Stack left alone below this function's frame when the unused stack is given back: room for
/// the red zone and the `madvise` call's own frame (a few hundred bytes; the maps read has
/// returned by then). Pages dropped that a later call uses come back as zero pages.
const STACK_MARGIN: usize = 4 * 1024;

/// Gives back the main thread's stack pages below the caller's frame: start-up ran deeper (the
/// spec's parse, the program's spawn) than the loop ever will, and those pages stayed in every
/// idle holder. Returns how many bytes. Call it from the frame the loop runs under.
#[inline(never)]
#[allow(unsafe_code)]
pub(super) fn trim_stack() -> usize {
    let here = 0u8;
    let sp = std::ptr::from_ref(std::hint::black_box(&here)) as usize;
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return 0 };
    let Some((start, end)) = maps.lines().find(|l| l.ends_with("[stack]")).and_then(mapping_range) else {
        return 0;
    };
    if !(start..end).contains(&sp) {
        return 0;
    }
    let top = sp.saturating_sub(STACK_MARGIN) & !(PAGE - 1);
    if top <= start {
        return 0;
    }
    // SAFETY: the range is the main thread's stack below the current frame by STACK_MARGIN: no
    // frame lives there now (the stack grows down, and no signal handler runs on it: Rust's own
    // runs on an alternate stack). Dropped pages read as zeros, and a later frame writes before
    // it reads, so nothing the process relies on changes.
    let done = unsafe { libc::madvise(start as *mut libc::c_void, top - start, libc::MADV_DONTNEED) == 0 };
    if done { top - start } else { 0 }
}

/// The address range of a `/proc/self/maps` line.
fn mapping_range(line: &str) -> Option<(usize, usize)> {
    let (a, b) = line.split_whitespace().next()?.split_once('-')?;
    Some((usize::from_str_radix(a, 16).ok()?, usize::from_str_radix(b, 16).ok()?))
}

/// Gives the heap's free memory back (what start-up allocated and freed: the spec, the
/// environment copies of the program's spawn), so it does not stay in every idle holder.
#[allow(unsafe_code)]
pub(super) fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory of the allocator's own heap; the process is
    // single-threaded here.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// `madvise` on a range of our own mappings; whether it was taken.
#[allow(unsafe_code)]
fn advise(start: usize, len: usize, advice: libc::c_int) -> bool {
    // SAFETY: the range lies in a private mapping of our own executable. MADV_RANDOM only
    // changes paging. MADV_DONTNEED is given only pages that pagemap reports as file pages,
    // i.e. never written by this process: dropping one makes the next access map the same
    // bytes from the file again, so no code or data the process relies on changes. (rustix's
    // `madvise` is as unsafe and would need another feature of it.)
    unsafe { libc::madvise(start as *mut libc::c_void, len, advice) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_private_mappings_of_the_executable_are_taken() {
        let exe = "/usr/bin/controlroom";
        let line = "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/controlroom";
        assert_eq!(executable_range(line, exe), Some((0x400000, 0x452000)));
        let shared = "00400000-00452000 r--s 00000000 08:02 173521      /usr/bin/controlroom";
        assert_eq!(executable_range(shared, exe), None);
        let other = "7f00-8f00 r-xp 00000000 08:02 99      /usr/lib/libc.so.6";
        assert_eq!(executable_range(other, exe), None);
        let anon = "7f00-8f00 rw-p 00000000 00:00 0 ";
        assert_eq!(executable_range(anon, exe), None);
        let upgraded = "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/controlroom (deleted)";
        assert_eq!(executable_range(upgraded, "/usr/bin/controlroom (deleted)"), Some((0x400000, 0x452000)));
    }

    #[test]
    fn a_maps_line_gives_its_range() {
        let line = "7ffd1000-7ffd3000 rw-p 00000000 00:00 0                          [stack]";
        assert_eq!(mapping_range(line), Some((0x7ffd1000, 0x7ffd3000)));
        assert_eq!(mapping_range("garbage"), None);
    }

    #[test]
    fn trimming_the_stack_keeps_this_process_running() {
        // Test threads run on their own stacks, not `[stack]`: nothing is dropped then, and
        // nothing breaks either way.
        let _ = trim_stack();
        assert_eq!(std::hint::black_box(vec![4, 5]).iter().sum::<i32>(), 9);
    }

    #[test]
    fn shedding_keeps_this_process_running_and_drops_pages() {
        // The test binary is an executable too: after shedding, its code still runs.
        let shed = shed_executable_pages();
        assert!(shed > 0, "some clean pages of the test binary were mapped");
        assert_eq!(std::hint::black_box(vec![1, 2, 3]).iter().sum::<i32>(), 6, "code and data still work");
    }
}
