//! `cargo bench -p kiln-kernel --bench table`: the table ops on a 50 MB CSV (1 093 400
//! rows of 7 columns, `inputs::csv`), against `parse_csv | to_json` of the same bytes. The
//! goal (issue 21): `sort` and `group_by` pipelines under 2x the time of the plain
//! conversion. Inputs are generated in memory before timing.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod inputs;

fn benches(c: &mut Criterion) {
    let csv = inputs::csv(50_000_000);
    let mut g = c.benchmark_group("table_50MB");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Bytes(csv.len() as u64));
    let tasks = [
        ("parse_csv_to_json", "parse_csv | to_json"),
        ("sort_city_price_desc", "parse_csv | sort by=city,-price | to_json"),
        ("sort_name_text", "parse_csv | sort by=name | to_json"),
        ("sort_id_desc_reverses", "parse_csv | sort by=-id | to_json"),
        (
            "group_by_city_all_aggregates",
            "parse_csv | group_by by=city aggregates=count,sum:qty,mean:price,min:price,max:price | to_json",
        ),
        (
            "group_by_name_100k_groups",
            "parse_csv | group_by by=name aggregates=count,sum:qty | to_json",
        ),
        (
            "distinct_city_active",
            "parse_csv | distinct columns=city,active | to_json",
        ),
    ];
    for (name, pipeline) in tasks {
        g.bench_function(name, |b| {
            b.iter(|| kiln_kernel::run(pipeline, black_box(csv.as_slice())).unwrap());
        });
    }
    // The same conversion through a streaming session, 64 KiB at a time.
    for (name, pipeline) in [
        ("stream_parse_csv_to_json", "parse_csv | to_json"),
        ("stream_parse_csv_to_ndjson", "parse_csv | to_json format=ndjson"),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut session = kiln_kernel::Session::open(pipeline, &kiln_kernel::Limits::default()).unwrap();
                let mut len = 0;
                for chunk in black_box(csv.as_slice()).chunks(64 << 10) {
                    len += session.push(chunk).unwrap().len();
                }
                len + session.finish().unwrap().data.len()
            });
        });
    }
    g.finish();
}

criterion_group!(table, benches);
criterion_main!(table);
