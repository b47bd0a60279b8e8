//! The CSV reader and the table ops behind it: the first byte picks the pipeline.
#![no_main]
use libfuzzer_sys::fuzz_target;

const PIPELINES: &[&str] = &[
    "parse_csv | to_json",
    "parse_csv delimiter=; | to_json format=ndjson",
    "parse_csv header=false | to_csv",
    "parse_csv infer=false | stats",
    "parse_csv delimiter=\\t | select columns=a,b | to_json",
    "parse_csv delimiter=auto skip_lines=1 comment=# | to_csv quote=always",
    "parse_csv header=false | sort by=column1,-column2 | to_json",
    "parse_csv header=false | group_by by=column1 aggregates=count,sum:column2,mean:column2,min:column3,max:column3",
    "parse_csv header=false | distinct | limit count=100 offset=1 | to_csv",
    "parse_csv header=false | filter where='column1 is_null or column2 > 1 and column3 not_null' | to_csv",
];

fuzz_target!(|data: &[u8]| kiln_fuzz::check_selected(PIPELINES, data));
