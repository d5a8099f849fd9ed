//! A transform built with Redpanda's Rust SDK that writes each record to
//! every output topic by name (write_with_options): the key and headers
//! kept, the value upper-cased (a null value stays null) and a header
//! `fanout` naming the topic appended. When the `extra_topic` variable is
//! set, each record also goes to that topic after the outputs; tests point
//! it at a topic that is not an output to see the write refused.
use redpanda_transform_sdk::*;
use std::error::Error;

fn main() {
    let mut topics: Vec<String> = (0..)
        .map_while(|i| std::env::var(format!("REDPANDA_OUTPUT_TOPIC_{i}")).ok())
        .collect();
    if let Ok(extra) = std::env::var("extra_topic") {
        topics.push(extra);
    }
    on_record_written(
        move |event: WriteEvent, writer: &mut RecordWriter| -> Result<(), Box<dyn Error>> {
            let record = &event.record;
            let value = record.value().map(|v| v.to_ascii_uppercase());
            for topic in &topics {
                let mut headers = record.headers().to_vec();
                headers.push(BorrowedHeader::new(b"fanout", Some(topic.as_bytes())));
                let out = BorrowedRecord::new_with_headers(record.key(), value.as_deref(), headers);
                writer.write_with_options(out, WriteOptions::to_topic(topic))?;
            }
            Ok(())
        },
    );
}
