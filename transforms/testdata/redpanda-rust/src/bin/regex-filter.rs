//! A regex filter built with Redpanda's Rust SDK: keeps the records whose
//! value matches the `regex` environment variable (a `with:` parameter or a
//! deployment's --var), as Skiff's built-in regex-filter does, so the two can
//! be compared. A record without a value is matched as an empty one.
use redpanda_transform_sdk::*;
use regex::bytes::Regex;
use std::error::Error;

fn main() {
    let pattern =
        std::env::var("regex").expect("set the regex variable to the pattern values must match");
    let re = Regex::new(&pattern).expect("the regex variable is not a valid regular expression");
    on_record_written(
        move |event: WriteEvent, writer: &mut RecordWriter| -> Result<(), Box<dyn Error>> {
            if re.is_match(event.record.value().unwrap_or_default()) {
                writer.write(event.record)?;
            }
            Ok(())
        },
    );
}
