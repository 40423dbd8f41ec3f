//! The link's tests: output parsed across any split of the stream, its end, input's shares.

use super::*;
use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use tokio::sync::Semaphore;

fn pair() -> (HolderLink, UnixStream) {
    let (ours, theirs) = UnixStream::pair().expect("socket pair");
    ours.set_nonblocking(true).expect("non-blocking");
    (HolderLink::new(42, wire::VERSION, ours, None), theirs)
}

async fn next(link: &mut HolderLink, want: usize, max: usize) -> LinkOutput {
    let fill = std::future::poll_fn(|cx| link.poll_fill(cx, want, max));
    tokio::time::timeout(Duration::from_secs(10), fill).await.expect("output in time");
    link.take(max).expect("something to take")
}

#[tokio::test]
async fn output_split_anywhere_across_reads_comes_out_whole_then_the_exit() {
    let (mut link, mut holder) = pair();
    let mut stream = Vec::new();
    Frame::Output { offset: 0, data: b"hello ".to_vec() }.encode(&mut stream);
    Frame::Output { offset: 6, data: Vec::new() }.encode(&mut stream);
    Frame::Output { offset: 6, data: b"world".to_vec() }.encode(&mut stream);
    Frame::Exited { exit: Exit::Code(3) }.encode(&mut stream);
    // One byte at a time: every header, body and frame boundary falls between two reads.
    let writer = std::thread::spawn(move || {
        for b in stream {
            holder.write_all(&[b]).expect("write");
            std::thread::sleep(Duration::from_micros(50));
        }
        holder
    });
    let mut got = Vec::new();
    let exit = loop {
        match next(&mut link, 1, 64).await {
            LinkOutput::Data(d) => got.extend(d),
            LinkOutput::Exit(e) => break e,
        }
    };
    assert_eq!(got, b"hello world");
    assert_eq!(exit, ExitInfo { exit_code: Some(3), signal: None });
    // Taking the exit does not acknowledge it: the hub does once its store committed it.
    let mut holder = writer.join().expect("writer");
    holder.set_nonblocking(true).expect("non-blocking");
    let mut early = [0u8; 1];
    assert!(holder.read(&mut early).is_err(), "nothing is sent before the commit");
    holder.set_nonblocking(false).expect("blocking");
    link.ack_exit().expect("ack");
    let mut ack = [0u8; 5];
    holder.read_exact(&mut ack).expect("ack");
    assert_eq!(Frame::decode(&ack[4..]).expect("decode"), Frame::AckExit);
}

#[tokio::test]
async fn a_dropped_connection_is_lost_after_the_last_byte_and_batches_respect_max() {
    let (mut link, mut holder) = pair();
    let mut stream = Vec::new();
    Frame::Output { offset: 0, data: vec![b'x'; 10_000] }.encode(&mut stream);
    holder.write_all(&stream).expect("write");
    drop(holder);
    let mut total = 0;
    let exit = loop {
        match next(&mut link, 1, 4096).await {
            LinkOutput::Data(d) => {
                assert!(d.len() <= 4096, "a batch of {} bytes", d.len());
                total += d.len();
            }
            LinkOutput::Exit(e) => break e,
        }
    };
    assert_eq!(total, 10_000, "every byte before the end");
    assert_eq!(exit.signal.as_deref(), Some(controlroom_protocol::WORKER_LOST));
}

#[tokio::test]
async fn garbage_from_the_holder_ends_the_stream_as_lost() {
    let (mut link, mut holder) = pair();
    holder.write_all(&[0, 0, 0, 0, 9]).expect("write");
    let LinkOutput::Exit(exit) = next(&mut link, 1, 64).await else { panic!("no data expected") };
    assert_eq!(exit.signal.as_deref(), Some(controlroom_protocol::WORKER_LOST));
}

#[tokio::test]
async fn input_holds_its_share_until_the_socket_took_it_and_control_is_bounded() {
    let (mut link, mut holder) = pair();
    let budget = Arc::new(Semaphore::new(1 << 22));
    // Nobody reads the holder's end: the socket fills and the rest waits in the link.
    let big = vec![b'p'; 1 << 21];
    let share = budget.clone().try_acquire_many_owned(big.len() as u32).expect("room");
    link.queue_input(&big, Some(share)).expect("queued");
    assert!(link.wants_flush(), "a full socket leaves bytes queued");
    assert!(budget.available_permits() < 1 << 22, "the share is held while bytes wait");
    let mut refused = false;
    for _ in 0..1000 {
        if link.resize(80, 24).is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "control frames stop queueing at their bound");
    // The holder reads everything: the link flushes, the share comes back.
    let reader = std::thread::spawn(move || {
        let mut got = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        holder.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
        while let Ok(n) = holder.read(&mut buf) {
            if n == 0 {
                break;
            }
            got += n;
        }
        got
    });
    let flushed = std::future::poll_fn(|cx| link.poll_flush(cx));
    tokio::time::timeout(Duration::from_secs(10), flushed).await.expect("flushed");
    assert!(!link.wants_flush());
    assert_eq!(budget.available_permits(), 1 << 22, "the whole share is back once written");
    let frames = big.len().div_ceil(INPUT_FRAME);
    let got = reader.join().expect("reader");
    assert!(got >= big.len() + frames * FRAME_HEAD, "every input byte reached the holder ({got})");
}
