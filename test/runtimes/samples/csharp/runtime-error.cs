using System;

class Program
{
    static void Main()
    {
        int[] values = { 1, 2, 3 };
        Console.WriteLine(values[values.Length]);
    }
}
