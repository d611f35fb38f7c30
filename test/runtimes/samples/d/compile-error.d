void main()
{
    int a = "hello";
}
