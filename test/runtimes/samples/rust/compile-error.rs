fn main() {
    let count: i32 = "three";
    println!("{}", count);
}
