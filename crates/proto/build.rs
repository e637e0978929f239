//! Compiles `proto/cirrus/channel/v1/channel.proto` with protox (pure Rust, no `protoc`) and
//! generates the prost messages and tonic client/server stubs.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/cirrus/channel/v1/channel.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
