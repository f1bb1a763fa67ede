using Xunit.Abstractions;
using Xunit.Sdk;

namespace AppHost.Tests;

/// <summary>The place of a test in a class that walks one application through its life (the last one stops it).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class OrderAttribute(int position) : Attribute
{
    public int Position { get; } = position;
}

/// <summary>Runs a class's tests by their <see cref="OrderAttribute"/>.</summary>
public sealed class ByOrder : ITestCaseOrderer
{
    public const string Name = "AppHost.Tests.ByOrder";
    public const string Assembly = "AppHost.Tests";

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases)
        where TTestCase : ITestCase =>
        testCases.OrderBy(t => t.TestMethod.Method.GetCustomAttributes(typeof(OrderAttribute).AssemblyQualifiedName).Single().GetNamedArgument<int>(nameof(OrderAttribute.Position)));
}
